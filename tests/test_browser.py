"""The web page in a real browser: Debian's Chromium driven by Playwright (no download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

from test_server_api import server_url  # noqa: E402,F401  (the real server fixture)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server_url: str) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.console_messages.append(error))
    page.goto(server_url + "/")
    yield page
    context.close()


def _draw_seven(page) -> None:
    box = page.locator("#pad").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.25 * w, y + 0.2 * h)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + (0.25 + 0.05 * step) * w, y + 0.2 * h)
    for step in range(1, 16):
        page.mouse.move(x + (0.75 - 0.02 * step) * w, y + (0.2 + 0.045 * step) * h)
    page.mouse.up()


def test_draw_a_digit_and_see_it_read(page, tmp_path: Path) -> None:
    _draw_seven(page)
    page.wait_for_function("document.querySelector('#text').textContent.trim().length > 0", timeout=15000)
    assert page.locator("#text").inner_text().strip().rstrip("?") == "7"
    assert page.locator("#digits li").count() == 1
    assert page.locator("#digits li img").get_attribute("src").startswith("data:image/png")
    page.screenshot(path=str(tmp_path / "drawn.png"), full_page=True)
    assert (tmp_path / "drawn.png").stat().st_size > 5000
    page.click("#undo")
    page.wait_for_function("document.querySelector('#text').textContent === ''", timeout=5000)
    assert page.console_messages == []


def test_upload_a_multi_digit_image(page, tmp_path: Path) -> None:
    page.set_input_files("#file", str(EXAMPLES / "photo.png"))
    page.wait_for_function("document.querySelector('#text').textContent.trim().length > 0", timeout=15000)
    assert page.locator("#text").inner_text().replace("?", "") == "631 59785"
    assert page.locator("#overlay").is_visible()
    assert page.locator("#digits li").count() == 8
    page.screenshot(path=str(tmp_path / "uploaded.png"), full_page=True)
    assert page.console_messages == []


def test_upload_a_text_file_shows_the_reason(page, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("these are not digits")
    page.set_input_files("#file", str(notes))
    page.wait_for_function("document.querySelector('#status').classList.contains('error')", timeout=15000)
    assert "not an image" in page.locator("#status").inner_text()
    # A failed request is answered in words, not as a console error from our script.
    assert all("Failed to load resource" in str(m.text if hasattr(m, "text") else m) for m in page.console_messages)
