"""The ``digitscan`` command: a thin shell over the Python API.

Every command turns a user's mistake (a ``DigitscanError``) into one line on stderr and a
non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import DigitscanError

app = typer.Typer(
    name="digitscan",
    help="Train convolutional networks on handwritten digits and read digits from real scans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DataDirOption = typer.Option(
    None, "--data-dir", help="Folder with the MNIST IDX files (default: $DIGITSCAN_DATA or cache)."
)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit status 2."""
    try:
        app()
    except DigitscanError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


# ----- read (issue: read handwritten digits from real scans) -------------------------------
# (the `read` command goes here)
# ----- end read ------------------------------------------------------------------------------


if __name__ == "__main__":
    main()
