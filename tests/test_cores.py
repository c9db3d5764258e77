"""Training's thread count follows the cores that are free, read from /proc/stat."""

from __future__ import annotations

import math
import os
import subprocess
import sys

from digitscan.training.cores import CoreWatch, free_cores, quiet_openmp


def _stat(*cores: tuple[int, int]) -> str:
    """A /proc/stat with (busy, idle) jiffies per core."""
    lines = ["cpu  0 0 0 0 0 0 0 0 0 0"]
    for number, (busy, idle) in enumerate(cores):
        lines.append(f"cpu{number} {busy} 0 0 {idle} 0 0 0 0 0 0")
    return "\n".join(lines + ["intr 12345", "ctxt 678", ""])


def _sampled(before: str, after: str, available: set[int]):
    readings = iter([before, after])
    return free_cores(read_stat=lambda: next(readings), sleep=lambda seconds: None, available=available)


def test_an_idle_machine_gets_a_thread_per_core() -> None:
    cores = _sampled(_stat((100, 100), (100, 100)), _stat((102, 118), (101, 119)), {0, 1})
    assert (cores.available, cores.threads) == (2, 2) and cores.free > 1.8
    assert cores.reason() == "1.9 of 2 cores free"


def test_one_busy_process_leaves_one_thread() -> None:
    # One core fully busy, or the busy process moved between cores half the time each.
    assert _sampled(_stat((0, 0), (0, 0)), _stat((20, 0), (0, 20)), {0, 1}).threads == 1
    assert _sampled(_stat((0, 0), (0, 0)), _stat((10, 10), (10, 10)), {0, 1}).threads == 1
    # A program busy on half a core still holds a second thread up at every barrier.
    assert _sampled(_stat((0, 0), (0, 0)), _stat((5, 15), (5, 15)), {0, 1}).threads == 1
    assert _sampled(_stat((0, 0), (0, 0)), _stat((2, 18), (2, 18)), {0, 1}).threads == 2


def test_a_fully_busy_machine_still_trains_on_one_thread() -> None:
    cores = _sampled(_stat((0, 0), (0, 0)), _stat((20, 0), (19, 1)), {0, 1})
    assert cores.threads == 1 and cores.free < 0.1


def test_only_the_cores_this_process_may_use_count() -> None:
    four_idle = (_stat((0, 0), (0, 0), (0, 0), (0, 0)), _stat((0, 20), (0, 20), (0, 20), (0, 20)))
    assert _sampled(*four_idle, available={1, 3}).threads == 2
    assert _sampled(*four_idle, available={0, 1, 2, 3}).threads == 4


def test_an_unreadable_proc_stat_falls_back_to_the_cores_available() -> None:
    def missing() -> str:
        raise OSError("no /proc here")

    cores = free_cores(read_stat=missing, sleep=lambda seconds: None, available={0, 1})
    assert cores.threads == 2 and math.isnan(cores.free) and "load unknown" in cores.reason()


def test_openmp_waits_passively_when_set_before_torch(monkeypatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    quiet_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    quiet_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"  # the user's choice is kept


def test_the_command_line_reaches_train_before_torch_is_imported() -> None:
    # quiet_openmp runs at the top of train(); it only works if nothing imported torch first.
    code = ("import sys, digitscan.cli, digitscan.training.loop, digitscan.training.line_loop; "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_watch_follows_programs_started_and_ended_during_training() -> None:
    # Two readings a second apart per check; the run's own threads do not count against it.
    readings = iter([
        _stat((0, 0), (0, 0)),
        _stat((20, 0), (20, 0)),  # both cores busy, the run itself busy on 2: still 2
        _stat((40, 0), (40, 0)),  # both busy, the run only on 1 (a program beside it): 1
        _stat((42, 18), (60, 0)),  # one core 90% idle, the run on 1: 1.9 -> 2
    ])
    clock, own = iter([0.0, 1.0, 1.5, 2.0, 3.0]), iter([0.0, 2.0, 3.0, 4.0])
    watch = CoreWatch(2, every=1.0, read_stat=lambda: next(readings), clock=lambda: next(clock),
                      cpu_time=lambda: next(own), available={0, 1})
    assert not watch.changed() and watch.threads == 2
    assert not watch.changed()  # 0.5 s since the last reading: too soon to tell
    assert watch.changed() and watch.threads == 1
    assert watch.changed() and watch.threads == 2


def test_the_thread_probe_chooses_a_count_and_leaves_the_run_untouched() -> None:
    import dataclasses

    import torch

    from digitscan.training.device import Setup, fastest_threads
    from digitscan.training.models import build_model

    model = build_model("seed")
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    setup = Setup(torch.device("cpu"), False, 2, False, "fp32", "2.0 of 2 cores free", "off")
    images, labels = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    random_state = torch.get_rng_state()
    chosen = fastest_threads(setup, model, images, labels, torch, steps=2)
    assert chosen.threads in (1, 2) and torch.get_num_threads() == chosen.threads
    assert chosen is setup or "fewer threads measured faster per step" in chosen.line()
    # The probe trained a copy: the model and the random numbers the run will draw are as they were.
    assert all(torch.equal(weights[name], value) for name, value in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), random_state)
    asked = dataclasses.replace(setup, threads_reason="asked for")
    assert fastest_threads(asked, model, images, labels, torch) is asked
