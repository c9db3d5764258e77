"""The web page in a real browser: Debian's Chromium driven by Playwright (no download)."""

from __future__ import annotations

import base64
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
    assert "notes.txt: not an image" in page.locator("#status").inner_text()
    page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
    assert (tmp_path / "refused.png").stat().st_size > 5000
    # Chromium itself logs the 415 as "Failed to load resource"; nothing else may appear.
    assert all("Failed to load resource" in str(m.text if hasattr(m, "text") else m) for m in page.console_messages)


def _drop_or_paste(page, picture: bytes, name: str, how: str) -> None:
    page.evaluate(
        """([data, name, how]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const carrier = new DataTransfer();
            carrier.items.add(new File([bytes], name, { type: "image/png" }));
            const event = how === "drop"
              ? new DragEvent("drop", { dataTransfer: carrier, bubbles: true, cancelable: true })
              : new ClipboardEvent("paste", { clipboardData: carrier, bubbles: true, cancelable: true });
            (how === "drop" ? document.getElementById("drop") : document).dispatchEvent(event);
        }""",
        [base64.b64encode(picture).decode(), name, how],
    )


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_drop_and_paste_an_image(page, how: str) -> None:
    _drop_or_paste(page, (EXAMPLES / "clean.png").read_bytes(), "clean.png", how)
    page.wait_for_function("document.querySelector('#text').textContent.trim().length > 0", timeout=15000)
    expected = [row.split(",")[2] for row in (EXAMPLES / "labels.csv").read_text().splitlines()[1:]
                if row.startswith("clean.png,")][0].replace("|", "\n")
    assert page.locator("#text").inner_text().replace("?", "") == expected
    assert page.console_messages == []


def test_multi_page_tiff_can_be_browsed(page, tmp_path: Path) -> None:
    from PIL import Image

    pages = [Image.open(EXAMPLES / name).convert("L") for name in ("clean.png", "photo.png")]
    tiff = tmp_path / "two-pages.tif"
    pages[0].save(tiff, format="TIFF", save_all=True, append_images=pages[1:])
    page.set_input_files("#file", str(tiff))
    page.wait_for_function("!document.querySelector('#pages').hidden", timeout=15000)
    first = page.locator("#text").inner_text()
    page.select_option("#page", index=1)
    page.wait_for_function(f"document.querySelector('#text').textContent !== {first!r}", timeout=5000)
    assert page.locator("#text").inner_text().replace("?", "") == "631 59785"
    assert page.locator("#overlay").is_visible()  # boxes on white: Chromium cannot show a TIFF
    assert page.console_messages == []


def test_phone_screen_and_keyboard(browser, server_url: str, tmp_path: Path) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server_url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing runs off the side
    assert page.locator("#pad").bounding_box()["width"] >= 250
    assert page.locator("#camera").get_attribute("capture") == "environment"
    # The whole page can be worked from the keyboard: the pad, the buttons, the file pickers.
    reached = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    assert {"pad", "undo", "clear", "file", "camera", "layout"} <= reached
    # A finger: touch events through the DevTools protocol, as a phone's screen sends them
    # (tabbing on to the example buttons may have scrolled the pad away).
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    touch = context.new_cdp_session(page)
    x = box["x"] + 0.5 * box["width"]
    points = [(x, box["y"] + (0.15 + 0.05 * step) * box["height"]) for step in range(15)]
    kinds = ["touchStart"] + ["touchMove"] * (len(points) - 1)
    for kind, (px, py) in zip(kinds, points, strict=True):
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": px, "y": py}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function("document.querySelector('#text').textContent.trim().length > 0", timeout=15000)
    assert page.locator("#text").inner_text().strip().rstrip("?") == "1"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    context.close()
