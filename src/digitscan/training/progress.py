"""Training progress: a Rich bar with live loss and accuracy, and a line per epoch."""

from __future__ import annotations

__all__ = ["Progress"]


class Progress:
    """A Rich progress bar with live loss and accuracy, or nothing when disabled."""

    def __init__(self, enabled: bool, total_steps: int, done_steps: int) -> None:
        self.enabled = enabled
        if not enabled:
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
        if self.enabled:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.__exit__(*exc)

    def step(self, epoch: int, epochs: int, loss: float, accuracy: float, advance: int = 1) -> None:
        if self.enabled:
            self._progress.update(self._task, advance=advance, epoch=f"{epoch}/{epochs}", loss=loss, acc=accuracy)

    def epoch_done(self, row: dict[str, float]) -> None:
        if self.enabled:
            self._progress.console.print(
                f"epoch {row['epoch']:>3}  loss {row['loss']:.4f}  accuracy {row['accuracy']:.4f}  "
                f"val_loss {row['val_loss']:.4f}  val_accuracy {row['val_accuracy']:.4f}  "
                f"({row['seconds']:.1f} s)"
            )
