"""Mixed precision: which float type autocast uses on a device, and one backward-and-step that
scales float16 losses so that small gradients do not underflow."""

from __future__ import annotations

from collections.abc import Callable

import torch


def autocast_dtype(device: torch.device, amp: bool | str = "auto") -> torch.dtype | None:
    """The mixed-precision type for ``device``: on CUDA bfloat16 where the GPU computes it natively
    (compute capability 8.0, Ampere, or newer), else float16 (e.g. Colab's T4, which would only
    emulate bfloat16, slowly); ``None`` (full float32) on other devices unless ``amp=True`` (then
    bfloat16), or if ``amp=False``."""
    if amp is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else torch.float16
    return torch.bfloat16 if amp is True else None


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                      scaler: torch.amp.GradScaler | None = None, *, clip_grad_norm: float | None = None,
                      after_backward: Callable[[], None] | None = None) -> None:
    """Clear the gradients, backpropagate ``loss`` and step: with a float16 ``scaler``, the loss is
    scaled up before ``backward`` (so that small gradients do not underflow) and the gradients are
    unscaled, and the step skipped if any is inf or NaN, by ``scaler.step``. ``after_backward`` runs
    right after the backward pass (e.g. averaging gradients over processes); ``clip_grad_norm``
    then clips the (unscaled) gradients' total norm."""
    optimizer.zero_grad(set_to_none=True)
    (scaler.scale(loss) if scaler is not None else loss).backward()
    if after_backward is not None:
        after_backward()
    if clip_grad_norm is not None:
        if scaler is not None:
            scaler.unscale_(optimizer)
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(parameters, clip_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
