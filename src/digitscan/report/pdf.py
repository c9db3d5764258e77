"""HTML to PDF with headless Chromium, driven through Playwright.

Chromium prints the report exactly as a reader's browser would, print style sheet included,
so the PDF needs no layout code of its own.

>>> pdf_bytes = html_to_pdf(html)                    # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from ..errors import DigitscanError

__all__ = ["CHROMIUM_ARGS", "check_pdf_tools", "find_chromium", "html_to_pdf"]

# No sandbox: containers and CI runners often cannot give Chromium its own; the page it
# opens is our own file with scripts and outside loads forbidden. The rest keep a headless
# run from reaching the network on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Path | None:
    """The Chromium to use: $DIGITSCAN_CHROMIUM, else the first on PATH, else None."""
    chosen = os.environ.get("DIGITSCAN_CHROMIUM")
    if chosen:
        return Path(chosen) if Path(chosen).is_file() else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


_HOW_TO_GET_PDF = (
    "pip install 'digitscan[report-pdf]' and apt-get install chromium (or set DIGITSCAN_CHROMIUM to a "
    "Chromium); or write --format html and print that from a browser"
)


def check_pdf_tools() -> Path:
    """The Chromium to print with, after checking that Playwright is there to drive it; a
    ``DigitscanError`` naming everything missing otherwise."""
    chromium = find_chromium()
    missing = [] if importlib.util.find_spec("playwright") else ["Playwright (a Python package)"]
    if chromium is None:
        missing.append("Chromium (a browser)")
    if missing:
        raise DigitscanError(f"a PDF report needs {' and '.join(missing)}: {_HOW_TO_GET_PDF}")
    return chromium


def html_to_pdf(html: str, problems: list[str] | None = None) -> bytes:
    """The PDF of ``html`` on A4 pages, backgrounds printed. ``problems``, when given,
    receives what Chromium reported while printing: console errors and warnings, script
    errors, loads that failed (for a report: none)."""
    chromium = check_pdf_tools()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                if problems is not None:
                    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
                    page.on("pageerror", lambda e: problems.append(str(e)))
                    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
                page.set_content(html, wait_until="load")
                page.emulate_media(media="print")
                return page.pdf(
                    format="A4", print_background=True,
                    margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DigitscanError(f"Chromium ({chromium}) could not print the report: {first_line}") from None
