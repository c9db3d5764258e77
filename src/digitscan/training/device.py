"""Where and how a network trains: the device, and bf16 only where the hardware has it."""

from __future__ import annotations

from ..errors import DigitscanError

__all__ = ["pick_device", "use_bf16"]


def pick_device(name: str, torch):
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise DigitscanError("--device cuda asked for, but PyTorch sees no CUDA GPU")
        return torch.device("cuda")
    return torch.device("cpu")


def use_bf16(precision: str, device, torch) -> bool:
    if precision == "fp32":
        return False
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
    else:
        # Without native bf16 units (AVX512-BF16 or AMX) autocast emulates bf16 and runs
        # several times slower than fp32 (measured: 10x on an AVX2-only CPU).
        supported = bool(
            getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
        )
    if precision == "bf16" and not supported:
        raise DigitscanError("--precision bf16 asked for, but this device has no native bf16")
    return supported
