"""The keyword-spotting ResNets of Tang & Lin (2018), "Deep residual learning for small-footprint
keyword spotting" (ICASSP 2018, arXiv:1710.10361), and plain CNNs of the same shape.

Every model reads a spectrogram ``(batch, n_mels, frames)`` (the paper: 40 MFCCs x 101 frames)
and returns logits ``(batch, num_classes)``. As published:

- every convolution is 3x3 and bias-free, followed by ReLU and then batch normalisation without
  learnable scale and shift (the paper counts no parameters for it);
- the first convolution maps 1 channel to ``n`` feature maps (45, or 19 for the ``-narrow``
  models) and is followed by ReLU only;
- **res8**: first convolution, 4x3 average pooling (4 frames x 3 frequency bins), 3 residual
  blocks; **res26**: first convolution, 2x2 average pooling, 12 residual blocks;
  **res15**: first convolution, no pooling, 6 residual blocks whose convolutions ``i = 0..11``
  have dilation ``2**(i // 3)`` (1, 1, 1, 2, 2, 2, ...), then one more convolution with dilation
  16 (``i = 12``); zero padding keeps the size of the time-frequency map throughout;
- a residual block is two convolutions, each followed by ReLU; the block's input is added after
  the second ReLU and the sum is batch-normalised before the next layer reads it;
- global average pooling over time and frequency, then a bias-free linear layer into the softmax.

Where the paper leaves a detail open we follow the authors' own PyTorch code (Honk, Tang & Lin
2017): the shortcut carries the running sum *before* its batch normalisation, so the identity
path is a clean sum ``s_k = s_(k-1) + F_k(BN(s_(k-1)))``, and the first block reads the pooled
first layer directly. ``residual=False`` removes the ``s_(k-1) +``: the ``plain`` baseline with the
same layers, parameters and multiplies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .bc_resnet import BC_RESNET_MODELS, BcResNet

__all__ = ["InstanceBatchNorm2d", "KWS_MODELS", "KwsConfig", "PUBLISHED_KWS", "SPOTTER_MODELS", "KwsResNet", "KwsResidualBlock", "kws_model",
           "model_summary_table"]

@dataclass(frozen=True)
class KwsConfig:
    """The architecture of one model: ``width`` feature maps, ``blocks`` residual blocks, average
    pooling after the first layer (``pool``: frequency bins, frames; ``None``: none), and whether
    res15's dilated convolutions (and final layer) are used."""

    width: int
    blocks: int
    pool: tuple[int, int] | None
    dilated: bool


#: Tang & Lin's models by name.
KWS_MODELS: dict[str, KwsConfig] = {
    "res8": KwsConfig(width=45, blocks=3, pool=(3, 4), dilated=False),
    "res8-narrow": KwsConfig(width=19, blocks=3, pool=(3, 4), dilated=False),
    "res15": KwsConfig(width=45, blocks=6, pool=None, dilated=True),
    "res15-narrow": KwsConfig(width=19, blocks=6, pool=None, dilated=True),
    "res26": KwsConfig(width=45, blocks=12, pool=(2, 2), dilated=False),
    "res26-narrow": KwsConfig(width=19, blocks=12, pool=(2, 2), dilated=False),
}

#: Tang & Lin (2018), Table 3: parameters, multiplies and test accuracy on Speech Commands v1
#: (12 classes, 40 MFCCs x 101 frames).
PUBLISHED_KWS: dict[str, dict[str, float]] = {
    "res8": dict(params=110e3, mults=30e6, accuracy=0.941),
    "res8-narrow": dict(params=19.9e3, mults=5.65e6, accuracy=0.901),
    "res15": dict(params=238e3, mults=894e6, accuracy=0.958),
    "res15-narrow": dict(params=42.6e3, mults=160e6, accuracy=0.940),
    "res26": dict(params=438e3, mults=380e6, accuracy=0.952),
    "res26-narrow": dict(params=78.4e3, mults=68.5e6, accuracy=0.933),
}


def conv3x3(channels_in: int, channels_out: int, dilation: int = 1) -> nn.Conv2d:
    """A bias-free 3x3 convolution that keeps the map's size (padding = dilation)."""
    return nn.Conv2d(channels_in, channels_out, 3, padding=dilation, dilation=dilation, bias=False)


class InstanceBatchNorm2d(nn.Module):
    """IBN-a's normalisation (Pan et al. 2018): the first half of the channels of ``(batch, C, F, T)``
    normalised per example (instance norm: over F and T of that clip alone), the rest over the batch
    (batch norm). Instance norm removes what is constant across one clip, such as a voice's timbre;
    batch norm keeps what tells the words apart. Neither half has a learnt scale or shift."""

    def __init__(self, channels: int):
        super().__init__()
        self.half = channels // 2
        self.instance = nn.InstanceNorm2d(self.half, affine=False)
        self.batch = nn.BatchNorm2d(channels - self.half, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.instance(x[:, : self.half]), self.batch(x[:, self.half :])], dim=1)


def block_norm(width: int, instance: bool) -> nn.Module:
    """A block's normalisation: :class:`InstanceBatchNorm2d` if ``instance``, else batch norm."""
    return InstanceBatchNorm2d(width) if instance else nn.BatchNorm2d(width, affine=False)


class KwsResidualBlock(nn.Module):
    """``s -> s + relu(conv2(bn1(relu(conv1(norm(s))))))`` (without ``s +`` if not ``residual``).

    ``norm`` is the batch norm of the previous block's sum (identity for the first block); with
    ``instance_norm`` both norms are :class:`InstanceBatchNorm2d`.
    Shapes: ``(batch, width, F, T) -> (batch, width, F, T)``.
    """

    def __init__(self, width: int, dilations: tuple[int, int] = (1, 1), normalize_input: bool = True, residual: bool = True,
                 instance_norm: bool = False):
        super().__init__()
        self.norm = block_norm(width, instance_norm) if normalize_input else nn.Identity()
        self.conv1 = conv3x3(width, width, dilations[0])
        self.bn1 = block_norm(width, instance_norm)
        self.conv2 = conv3x3(width, width, dilations[1])
        self.relu = nn.ReLU()
        self.residual = residual

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        h = self.bn1(self.relu(self.conv1(self.norm(s))))
        h = self.relu(self.conv2(h))
        return s + h if self.residual else h


class KwsResNet(nn.Module):
    """A Tang & Lin keyword-spotting network; see the module's docstring and :data:`KWS_MODELS`.

    Input ``(batch, n_mels, frames)`` (or ``(batch, 1, n_mels, frames)``); output logits
    ``(batch, num_classes)``. ``instance_norm``: how many of the first blocks normalise half their
    channels per clip (:class:`InstanceBatchNorm2d`).
    """

    def __init__(
        self, num_classes: int, width: int = 45, blocks: int = 6, pool: tuple[int, int] | None = None,
        dilated: bool = False, residual: bool = True, instance_norm: int = 0,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.conv0 = conv3x3(1, width)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool2d(pool) if pool else nn.Identity()
        dilation = (lambda i: 2 ** (i // 3)) if dilated else (lambda i: 1)
        self.blocks = nn.Sequential(*(
            KwsResidualBlock(width, (dilation(2 * k), dilation(2 * k + 1)), normalize_input=k > 0, residual=residual,
                             instance_norm=k < instance_norm)
            for k in range(blocks)
        ))
        self.norm = nn.BatchNorm2d(width, affine=False)
        # res15 ends with one more (non-residual) convolution, dilated 2**(12 // 3) = 16.
        self.final = (
            nn.Sequential(conv3x3(width, width, dilation(2 * blocks)), nn.ReLU(), nn.BatchNorm2d(width, affine=False))
            if dilated else nn.Identity()
        )
        self.output = nn.Linear(width, num_classes, bias=False)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """What the classifier sees: ``(batch, width)``, the last feature maps averaged over frequency
        and time (also an embedding of the clip, for few-shot recognition)."""
        if x.dim() == 3:
            x = x.unsqueeze(1)  # (batch, 1, n_mels, frames)
        s = self.pool(self.relu(self.conv0(x)))
        s = self.blocks(s)
        h = self.final(self.norm(s))
        return h.mean(dim=(2, 3))  # global average pooling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.embed(x))


#: Every spotter :func:`kws_model` builds: Tang & Lin's, then BC-ResNet's (:mod:`.bc_resnet`).
SPOTTER_MODELS: tuple[str, ...] = (*KWS_MODELS, *BC_RESNET_MODELS)


def kws_model(name: str, num_classes: int, residual: bool = True, instance_norm: int = 0) -> KwsResNet | BcResNet:
    """Build ``name``: one of Tang & Lin's (``res8``, ``res8-narrow``, ``res15``, ``res15-narrow``,
    ``res26``, ``res26-narrow``; ``residual=False`` gives the plain CNN of the same shape;
    ``instance_norm``: IBN in that many first blocks) or a BC-ResNet (``bc-resnet-1``, ...;
    ``residual=False`` drops its blocks' identity shortcuts)."""
    if name in BC_RESNET_MODELS:
        if instance_norm:
            raise ValueError(f"instance_norm is for Tang & Lin's models; {name} has its own sub-spectral norm")
        return BcResNet(num_classes, BC_RESNET_MODELS[name], residual=residual)
    if name not in KWS_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(SPOTTER_MODELS)}")
    if not 0 <= instance_norm <= KWS_MODELS[name].blocks:
        raise ValueError(f"instance_norm={instance_norm}: {name} has {KWS_MODELS[name].blocks} blocks")
    return KwsResNet(num_classes, residual=residual, instance_norm=instance_norm, **asdict(KWS_MODELS[name]))


def model_summary_table(
    names: Sequence[str], input_shape: tuple[int, int] = (40, 101), num_classes: int = 12
) -> list[tuple[str, int, int]]:
    """Rows ``(name, parameters, multiply-adds)`` counted by ``torchinfo`` for one input of
    ``input_shape = (n_mels, frames)`` (the paper's: 40 x 101, 12 classes)."""
    from torchinfo import summary

    rows = []
    for name in names:
        stats = summary(kws_model(name, num_classes), input_size=(1, *input_shape), verbose=0)
        rows.append((name, stats.total_params, stats.total_mult_adds))
    return rows
