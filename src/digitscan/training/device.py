"""Where and how a network trains: the device, bf16 only where the hardware has it, threads
for the cores that are free, and why each was chosen (printed as one line, kept in
metrics.json).

    >>> setup = choose_setup(TrainConfig(), torch)                             # doctest: +SKIP
    >>> setup.line()                                                           # doctest: +SKIP
    'bf16 (native AMX), 2 threads (2.0 of 2 cores free), compile off (...)'
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, replace
from typing import Any

from ..errors import DigitscanError
from .config import TrainConfig
from .cores import free_cores
from .schedule import FusedAdamW

__all__ = ["Setup", "choose_setup", "fastest_threads", "pick_device", "use_bf16"]

# torch.compile, measured on the seed and default networks at their batch sizes on a 2-core
# AVX-512 CPU, also capped to AVX2 (issue 14): compiling took 35-80 s, longer than a whole
# 5-epoch run of the lab net, and the compiled steps were no faster afterwards.
_COMPILE_REASON = "compiling takes longer than these small nets train"


@dataclass(frozen=True)
class Setup:
    """The device, precision, threads and compile mode of a run, each with its reason."""

    device: Any  # a torch.device
    bf16: bool
    threads: int
    compile: bool
    precision_reason: str
    threads_reason: str
    compile_reason: str

    def line(self) -> str:
        """One line for the terminal, e.g. ``bf16 (native AMX), 1 thread (1.0 of 2 cores
        free), compile off (measured slower for these small nets)``."""
        where = "" if self.device.type == "cpu" else f"{self.device.type}, "
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        return (
            f"{where}{'bf16' if self.bf16 else 'fp32'} ({self.precision_reason}), "
            f"{threads} ({self.threads_reason}), compile {'on' if self.compile else 'off'} ({self.compile_reason})"
        )

    def facts(self) -> dict[str, Any]:
        """What metrics.json records."""
        return {
            "device": str(self.device),
            "precision": "bf16" if self.bf16 else "fp32",
            "threads": self.threads,
            "compile": self.compile,
            "setup": self.line(),
        }


def choose_setup(config: TrainConfig, torch) -> Setup:
    """Pick the device, precision and threads for ``config`` and set torch's thread count."""
    device = pick_device(config.device, torch)
    bf16 = use_bf16(config.precision, device, torch)
    if config.precision != "auto":
        precision_reason = "asked for"
    elif device.type == "cuda":
        precision_reason = "native on this GPU" if bf16 else "this GPU has no bf16"
    else:
        precision_reason = f"native {_native_bf16_unit(torch)}" if bf16 else "no native bf16 on this CPU"
    if config.threads:
        threads, threads_reason = config.threads, "asked for"
    else:
        cores = free_cores()
        threads, threads_reason = cores.threads, cores.reason()
    torch.set_num_threads(threads)
    return Setup(device, bf16, threads, False, precision_reason, threads_reason, _COMPILE_REASON)


def fastest_threads(setup: Setup, model, images, labels, torch, steps: int = 6) -> Setup:
    """Time a few training steps of a copy of ``model`` on each thread count up to the free
    cores and keep the fastest (``setup`` unchanged where threads were asked for or only one
    is free).

    More threads are not always faster: at batch 64 the lab's network does so little per
    layer that waking a second thread costs more than it saves (measured in bf16 on 2 cores:
    6.8 ms a step on two threads, 6.0 ms on one), while in fp32 the same network gains from
    the second (11.4 against 13.0 ms). Which wins depends on the CPU, the precision and the
    network, so it is measured, on a copy: the run itself and its random numbers are as
    they would be without the probe."""
    if setup.threads < 2 or setup.threads_reason == "asked for" or setup.device.type != "cpu":
        return setup
    import torch.nn.functional as F

    probe = copy.deepcopy(model).train()
    optimizer = FusedAdamW([{"params": probe.parameters()}], lr=1e-3, torch=torch)
    images = images.contiguous(memory_format=torch.channels_last)
    random_state = torch.get_rng_state()

    def seconds_per_step(threads: int) -> float:
        torch.set_num_threads(threads)
        timings = []
        for _ in range(steps + 2):
            start = time.perf_counter()
            with torch.autocast(setup.device.type, dtype=torch.bfloat16, enabled=setup.bf16):
                loss = F.cross_entropy(probe(images).float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            timings.append(time.perf_counter() - start)
        return sorted(timings[2:])[len(timings[2:]) // 2]  # the median, past the warm-up

    candidates = sorted({1, max(1, setup.threads // 2), setup.threads}, reverse=True)
    seconds = {threads: seconds_per_step(threads) for threads in candidates}
    # Where the counts come out close, each is timed again, interleaved, keeping its better
    # time: a moment's noise from another program should not decide. A clear gap (a quarter
    # or more, as for the default network at batch 128: 19 against 28 ms) is not noise, and
    # the second round would cost the default network's one-epoch run 0.5 s.
    if max(seconds.values()) < 1.25 * min(seconds.values()):
        seconds = {threads: min(value, seconds_per_step(threads)) for threads, value in seconds.items()}
    torch.set_rng_state(random_state)
    # A smaller count must win clearly: more threads also absorb the noise of a busy machine.
    best = min(candidates, key=lambda threads: seconds[threads] * (1.0 if threads == setup.threads else 1.05))
    torch.set_num_threads(best)
    if best == setup.threads:
        return setup
    measured = ", ".join(f"{threads}: {seconds[threads] * 1000:.1f} ms" for threads in candidates)
    reason = f"{setup.threads_reason}; fewer threads measured faster per step ({measured})"
    return replace(setup, threads=best, threads_reason=reason)


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
        supported = _native_bf16_unit(torch) is not None
    if precision == "bf16" and not supported:
        raise DigitscanError("--precision bf16 asked for, but this device has no native bf16")
    return supported


def _native_bf16_unit(torch) -> str | None:
    """``"AMX"``, ``"AVX512-BF16"`` or None: the CPU's native bf16 arithmetic, if any.

    A CPU capped to AVX2 (``ATEN_CPU_CAPABILITY=avx2``, ``ONEDNN_MAX_CPU_ISA=AVX2``) counts
    as an AVX2 CPU: its kernels cannot use the bf16 units the flags still report."""
    onednn_isa = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "ALL")).upper()
    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512") or onednn_isa.startswith(("SSE", "AVX2")):
        return None
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        return "AMX"
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "AVX512-BF16"
    return None
