"""How many threads training should use: the cores that are actually free, not all of them.

OpenMP splits every layer over its threads and waits at a barrier for the slowest. When
another program is busy on one of two cores (a browser, a second run, a test suite), the
thread that shares its core runs in slices of the scheduler's time, and the other waits for
it at every barrier: one busy process beside training made an epoch 5x slower. One thread on
the free core loses only the second core's share. (``nice`` does not help: with Linux's
autogroups each terminal session is scheduled as one group, whatever its niceness.)

    >>> cores = free_cores()          # samples /proc/stat for 0.2 s   # doctest: +SKIP
    >>> cores.threads, cores.free, cores.available                    # doctest: +SKIP
    (1, 0.96, 2)

Nothing here imports torch: ``quiet_openmp`` must run before torch is imported.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CoreWatch", "FreeCores", "free_cores", "quiet_openmp", "read_proc_stat"]


@dataclass(frozen=True)
class FreeCores:
    """The cores this process may use (``available``), how many of them were idle while
    sampled (``free``, fractional; NaN where unknown) and the threads to train with."""

    available: int
    free: float
    threads: int

    def reason(self) -> str:
        """Why ``threads``, e.g. ``"1.0 of 2 cores free"``."""
        if math.isnan(self.free):
            return f"{self.available} cores, load unknown"
        return f"{self.free:.1f} of {self.available} cores free"


def read_proc_stat() -> str:
    return Path("/proc/stat").read_text(encoding="ascii")


def free_cores(
    sample_seconds: float = 0.2,
    read_stat: Callable[[], str] = read_proc_stat,
    sleep: Callable[[float], None] = time.sleep,
    available: set[int] | None = None,
) -> FreeCores:
    """Sample each usable core's idle time for ``sample_seconds`` and choose one thread per
    free core (at least one). ``read_stat`` and ``available`` stand in for /proc/stat and
    the process's CPU affinity in tests."""
    cpus = set(available) if available is not None else _usable_cpus()
    count = min(len(cpus), _cgroup_quota() or len(cpus))
    try:
        before, own_before = _idle_and_total(read_stat(), cpus), time.process_time()
        sleep(sample_seconds)
        after, own_after = _idle_and_total(read_stat(), cpus), time.process_time()
    except (OSError, ValueError):
        return FreeCores(count, math.nan, count)
    # This process's own threads are no competition: just after torch is imported they keep
    # about 0.4 of a core busy for a moment, which on an idle 2-core machine read as 1.6
    # cores free and chose 1 thread.
    own = max(0.0, own_after - own_before) / sample_seconds if sample_seconds > 0 else 0.0
    free = min(_free(before, after) + own, float(count))
    return FreeCores(count, round(free, 2), _threads_for(free, count))


class CoreWatch:
    """Follows the free cores while training runs, so that a program started (or ended)
    beside a long run changes its thread count within seconds rather than never.

    Every ``every`` seconds at most, ``changed()`` counts the cores that were idle plus those
    this process kept busy itself (its own threads are not competition), and says whether
    the thread count should change; ``threads`` is then the new count."""

    def __init__(self, threads: int, every: float = 2.0, read_stat: Callable[[], str] = read_proc_stat,
                 clock: Callable[[], float] = time.monotonic, cpu_time: Callable[[], float] = time.process_time,
                 available: set[int] | None = None) -> None:
        self.threads = threads
        self._every, self._read_stat, self._clock, self._cpu_time = every, read_stat, clock, cpu_time
        self._cpus = set(available) if available is not None else _usable_cpus()
        self._count = min(len(self._cpus), _cgroup_quota() or len(self._cpus))
        self._last = self._sample(clock())

    def changed(self) -> bool:
        now = self._clock()
        if self._last is None or now - self._last[0] < self._every:
            return False
        last, self._last = self._last, self._sample(now)
        if self._last is None:
            return False
        seconds = self._last[0] - last[0]
        own = (self._last[1] - last[1]) / seconds
        free = min(_free(last[2], self._last[2]) + own, float(self._count))
        threads = _threads_for(free, self._count)
        if threads == self.threads:
            return False
        self.threads = threads
        return True

    def _sample(self, now: float) -> tuple[float, float, dict[int, tuple[int, int]]] | None:
        try:
            return now, self._cpu_time(), _idle_and_total(self._read_stat(), self._cpus)
        except (OSError, ValueError):
            return None


def quiet_openmp() -> None:
    """Make waiting OpenMP threads sleep rather than spin, so they do not take a core from
    the other programs the thread count was chosen to leave room for. Only an OpenMP loaded
    after this call obeys it (it reads the environment once), so call it before torch is
    imported; a value the user set is kept."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _threads_for(free: float, count: int) -> int:
    """A thread per free core, where the cores' idle time is summed (the scheduler moves a
    busy process between cores: one on two cores reads as two half-busy cores, 1.0 free) and
    a core counts only when three quarters idle: a thread sharing a core with another
    program holds every barrier up (measured: 2 threads beside a program busy on 0.7 of a
    core, 7.7 s per epoch of the lab net)."""
    return max(1, min(count, math.floor(free + 0.25)))


def _usable_cpus() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def _cgroup_quota() -> int | None:
    """Cores allowed by a container's CPU quota (cgroup v2 ``cpu.max``), rounded up."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def _free(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> float:
    """Cores' worth of idle time between two readings of ``_idle_and_total``."""
    free = 0.0
    for cpu, (idle_after, total_after) in after.items():
        idle_before, total_before = before.get(cpu, (idle_after, total_after))
        if total_after > total_before:
            free += (idle_after - idle_before) / (total_after - total_before)
    return free


def _idle_and_total(stat: str, cpus: set[int]) -> dict[int, tuple[int, int]]:
    """(idle + iowait, all) jiffies per core in ``cpus`` from /proc/stat's ``cpuN`` lines."""
    result = {}
    for line in stat.splitlines():
        name, *fields = line.split() or [""]
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
        result[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))
    if not result:
        raise ValueError("no per-core lines in /proc/stat")
    return result
