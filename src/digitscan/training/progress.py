"""Training progress: a Rich bar with live loss and accuracy, and a line per epoch.

Off a terminal (output piped to a file or a CI log) there is no bar, and each epoch is one
plain line: a log holds no bar frames and no lines wrapped at a guessed width.
"""

from __future__ import annotations

import sys

__all__ = ["Progress", "epoch_line"]


def epoch_line(row: dict[str, float]) -> str:
    """The line printed after an epoch, e.g. ``epoch   1  loss 0.5008  accuracy 0.8664 ...``."""
    return (
        f"epoch {row['epoch']:>3}  loss {row['loss']:.4f}  accuracy {row['accuracy']:.4f}  "
        f"val_loss {row['val_loss']:.4f}  val_accuracy {row['val_accuracy']:.4f}  "
        f"({row['seconds']:.1f} s)"
    )


class Progress:
    """A Rich progress bar with live loss and accuracy on a terminal, plain epoch lines
    elsewhere, or nothing when disabled."""

    def __init__(self, enabled: bool, total_steps: int, done_steps: int) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stdout.isatty()
        if not self.live:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.4f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._task = self._progress.add_task(
            "train", total=total_steps, completed=done_steps, epoch="-", loss=0.0, acc=0.0
        )
        self._counter = 0

    def __enter__(self) -> Progress:
        if self.live:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self._progress.__exit__(*exc)

    def step(self, epoch: int, epochs: int, loss: float, accuracy: float, advance: int = 1) -> None:
        if self.live:
            self._progress.update(self._task, advance=advance, epoch=f"{epoch}/{epochs}", loss=loss, acc=accuracy)

    def epoch_done(self, row: dict[str, float]) -> None:
        if self.live:
            self._progress.console.print(epoch_line(row), highlight=False, markup=False, soft_wrap=True)
        elif self.enabled:
            print(epoch_line(row), flush=True)
