"""BC-ResNet, the broadcasted residual network of Kim, Chang, Lee & Sung (2021), "Broadcasted residual
learning for efficient keyword spotting" (Interspeech 2021, arXiv:2106.04140).

A 2-D convolution over frequency and time costs ``F`` times more than a 1-D one over time. The
block of BC-ResNet spends most of its work in 1-D: for an input ``x`` ``(batch, C, F, T)``

- ``f2``: a depthwise 3x1 convolution along frequency, then sub-spectral normalisation (batch
  normalisation with separate statistics for each of 5 frequency sub-bands);
- the frequency axis is averaged away, ``(batch, C, 1, T)``;
- ``f1``: a depthwise 1x3 convolution along time (dilated), batch norm, Swish, a 1x1 convolution
  and channel dropout, all on ``(batch, C, 1, T)``;
- the output ``relu(x + f2(x) + f1(avg(f2(x))))``: the 1-D result is *broadcast* back over the
  frequency axis when it is added, which is the "broadcasted residual" of the title.

A transition block (where the number of channels changes, or the frequency axis is halved) first
maps the channels with a 1x1 convolution, batch norm and ReLU, and has no identity ``x +``.

The network for width multiplier ``tau`` (BC-ResNet-``tau``): a 5x5 convolution with stride 2 in
frequency to ``16 tau`` channels; four stages of 2, 2, 4 and 4 blocks with ``8, 12, 16, 20`` times
``tau`` channels and time dilations 1, 2, 4, 8, the second and third halving the frequency axis;
then a depthwise 5x5 convolution without frequency padding, a 1x1 convolution to ``32 tau``
channels, global average pooling and a 1x1 convolution into the classes. It reads 40 log-Mel
bands, so that the frequency axis is 20, 10 and 5 bins in the stages (each divisible into 5
sub-bands) and 1 after the last depthwise convolution. The authors' code (Qualcomm AI Research,
``bcresnet``) settles the details the paper leaves open; this module follows the paper's figure
and table and was checked against their parameter counts (:data:`PUBLISHED_BC_RESNET`).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BC_RESNET_MODELS", "PUBLISHED_BC_RESNET", "BcResBlock", "BcResNet", "SubSpectralNorm"]

#: The width multipliers ``tau`` of the published models, by name.
BC_RESNET_MODELS: dict[str, float] = {
    "bc-resnet-0.625": 0.625, "bc-resnet-1": 1, "bc-resnet-2": 2, "bc-resnet-3": 3, "bc-resnet-6": 6, "bc-resnet-8": 8,
}

#: Kim et al. (2021), Table 1: parameters of BC-ResNet-tau with 12 classes (Speech Commands), as
#: printed (thousands, rounded; the two smallest exactly).
PUBLISHED_BC_RESNET: dict[str, float] = {
    "bc-resnet-0.625": 4_585, "bc-resnet-1": 9_232, "bc-resnet-2": 27.3e3, "bc-resnet-3": 54.2e3,
    "bc-resnet-6": 188e3, "bc-resnet-8": 321e3,
}


class SubSpectralNorm(nn.Module):
    """Batch normalisation with its own statistics and affine parameters for each of ``sub_bands``
    equal slices of the frequency axis (Chang et al. 2021). ``(batch, C, F, T) -> (batch, C, F, T)``;
    ``F`` must be divisible by ``sub_bands``."""

    def __init__(self, channels: int, sub_bands: int = 5):
        super().__init__()
        self.sub_bands = sub_bands
        self.norm = nn.BatchNorm2d(channels * sub_bands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, bins, frames = x.shape
        if bins % self.sub_bands:
            raise ValueError(f"sub-spectral normalisation splits {bins} frequency bins into {self.sub_bands} "
                             f"sub-bands; use a number of Mel bands that keeps every stage divisible (40)")
        # (batch, C, F, T) -> (batch, C * S, F / S, T): each channel's sub-band becomes a channel
        x = x.reshape(batch, channels * self.sub_bands, bins // self.sub_bands, frames)
        return self.norm(x).reshape(batch, channels, bins, frames)


class BcResBlock(nn.Module):
    """One broadcasted residual block, ``(batch, C_in, F, T) -> (batch, C_out, F / stride, T)``; a
    transition block if ``C_in != C_out`` (see the module's docstring). ``residual=False`` drops the
    identity ``x +`` of a normal block (the broadcast sum stays: it is how the 1-D part reaches the output)."""

    def __init__(self, channels_in: int, channels_out: int, dilation: int = 1, frequency_stride: int = 1,
                 dropout: float = 0.1, residual: bool = True):
        super().__init__()
        self.transition = channels_in != channels_out
        self.residual = residual and not self.transition
        self.expand = (
            nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, bias=False), nn.BatchNorm2d(channels_out), nn.ReLU())
            if self.transition else nn.Identity()
        )
        self.f2 = nn.Sequential(  # depthwise 3x1 along frequency, then sub-spectral norm
            nn.Conv2d(channels_out, channels_out, (3, 1), stride=(frequency_stride, 1), padding=(1, 0),
                      groups=channels_out, bias=False),
            SubSpectralNorm(channels_out),
        )
        self.f1 = nn.Sequential(  # on (batch, C, 1, T): depthwise 1x3 along time, BN, Swish, pointwise, dropout
            nn.Conv2d(channels_out, channels_out, (1, 3), padding=(0, dilation), dilation=(1, dilation),
                      groups=channels_out, bias=False),
            nn.BatchNorm2d(channels_out),
            nn.SiLU(),
            nn.Conv2d(channels_out, channels_out, 1, bias=False),
            nn.Dropout2d(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        two_d = self.f2(self.expand(x))
        one_d = self.f1(two_d.mean(dim=2, keepdim=True))  # (batch, C, 1, T), broadcast over frequency below
        out = two_d + one_d
        return torch.relu(x + out if self.residual else out)


class BcResNet(nn.Module):
    """BC-ResNet-``tau``: input ``(batch, 40, frames)`` (or ``(batch, 1, 40, frames)``), logits
    ``(batch, num_classes)``; see the module's docstring."""

    STAGE_BLOCKS = (2, 2, 4, 4)
    STAGE_WIDTHS = (8, 12, 16, 20)  # times tau
    HALVING_STAGES = (1, 2)  # stages whose first block halves the frequency axis

    def __init__(self, num_classes: int, tau: float = 1, residual: bool = True):
        super().__init__()
        self.num_classes = num_classes
        head, widths, last = int(16 * tau), [int(w * tau) for w in self.STAGE_WIDTHS], int(32 * tau)
        self.head = nn.Sequential(nn.Conv2d(1, head, 5, stride=(2, 1), padding=2, bias=False),
                                  nn.BatchNorm2d(head), nn.ReLU())
        blocks, channels = [], head
        for stage, (count, width) in enumerate(zip(self.STAGE_BLOCKS, widths)):
            for index in range(count):
                stride = 2 if stage in self.HALVING_STAGES and index == 0 else 1
                blocks.append(BcResBlock(channels, width, dilation=2 ** stage, frequency_stride=stride, residual=residual))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.tail = nn.Sequential(
            nn.Conv2d(channels, channels, 5, padding=(0, 2), groups=channels, bias=False),  # frequency 5 -> 1
            nn.Conv2d(channels, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU(),
        )
        self.output = nn.Linear(last, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """What the classifier sees: ``(batch, 32 tau)``, the last feature maps averaged over
        frequency and time."""
        if x.dim() == 3:
            x = x.unsqueeze(1)  # (batch, 1, n_mels, frames)
        return self.tail(self.blocks(self.head(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.embed(x))
