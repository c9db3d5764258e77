"""The page at / as a newcomer meets it, on a desktop (1280x900) and a phone (390x844):
the result in view and given the room after a read, the example buttons, the API pages
and the model card working with no network at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

from test_browser import CHROMIUM, EXAMPLES, _draw_seven, browser  # noqa: E402,F401
from test_server_api import server_url  # noqa: E402,F401

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def screen(request, browser, server_url: str) -> Iterator[object]:  # noqa: F811
    """A page on which any request to another host is refused and counted: offline."""
    phone = request.param == "phone"
    context = browser.new_context(viewport=SIZES[request.param], has_touch=phone, is_mobile=phone)
    page = context.new_page()
    page.size = request.param
    page.problems = []
    page.outside = []
    here = urlparse(server_url).netloc

    def only_here(route) -> None:
        if urlparse(route.request.url).netloc in (here, ""):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_here)
    page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(server_url + "/")
    yield page
    context.close()


def _in_view(page, selector: str, top_part: float = 1.0) -> bool:
    """Whether the element starts on screen, within the top ``top_part`` of it."""
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= -1 and box["y"] + min(box["height"], 80) <= top_part * height + 1


def _wait_for_text(page) -> None:
    page.wait_for_function("document.querySelector('#text').textContent.trim().length > 0", timeout=15000)


def test_before_a_read_the_page_is_quiet(screen, tmp_path: Path) -> None:
    assert screen.locator("#seen-title").is_hidden()
    assert screen.locator("#status").inner_text() == "Draw or upload to start."
    assert screen.evaluate("document.documentElement.scrollWidth") <= SIZES[screen.size]["width"]
    pad = screen.locator("#pad").bounding_box()
    # The pad grows with the screen: most of a phone's width, not a fixed 280 px.
    assert pad["width"] >= (330 if screen.size == "phone" else 300)
    screen.screenshot(path=str(tmp_path / f"start-{screen.size}.png"))


def test_upload_puts_the_result_in_view_with_room(screen, tmp_path: Path) -> None:
    screen.set_input_files("#file", str(EXAMPLES / "photo.png"))
    _wait_for_text(screen)
    screen.wait_for_function("!document.querySelector('#overlay').hidden")
    assert screen.locator("#status").inner_text() == "8 digits read"
    assert screen.locator("#seen-title").is_visible()
    assert _in_view(screen, "#result-title", top_part=0.25)
    assert _in_view(screen, "#overlay", top_part=0.9 if screen.size == "phone" else 0.5)
    assert screen.locator("#draw-panel").evaluate("el => el.classList.contains('collapsed')")
    assert screen.locator("#pad").is_hidden()
    overlay = screen.locator("#overlay").bounding_box()
    width = SIZES[screen.size]["width"]
    assert overlay["width"] >= (0.55 * width if screen.size == "desktop" else 0.85 * width), overlay
    screen.screenshot(path=str(tmp_path / f"upload-{screen.size}.png"))
    # The folded panel sits right above the upload panel (no gap left by the tall result).
    if screen.size == "desktop":
        folded = screen.locator("#draw-panel").bounding_box()
        assert screen.locator("#upload-panel").bounding_box()["y"] - (folded["y"] + folded["height"]) < 40
    # The folded panel opens again.
    screen.click("#draw-panel .expand")
    assert screen.locator("#pad").is_visible()
    assert screen.problems == [] and screen.outside == []


def test_drawing_puts_the_result_in_view(screen, tmp_path: Path) -> None:
    _draw_seven(screen)
    _wait_for_text(screen)
    assert screen.locator("#status").inner_text().startswith("1 digit read")
    assert _in_view(screen, "#text")
    assert screen.locator("#upload-panel").evaluate("el => el.classList.contains('collapsed')")
    screen.screenshot(path=str(tmp_path / f"drawn-{screen.size}.png"))
    screen.click("#clear")
    assert screen.locator("#seen-title").is_hidden()
    assert screen.problems == [] and screen.outside == []


def test_example_buttons_read_the_bundled_examples(screen, tmp_path: Path) -> None:
    buttons = screen.locator("#examples button")
    buttons.first.wait_for(timeout=5000)
    assert buttons.count() == 3
    screen.click("#examples button:has-text('photo')")
    _wait_for_text(screen)
    assert screen.locator("#text").inner_text().replace("?", "") == "631 59785"
    assert _in_view(screen, "#result-title", top_part=0.25)
    screen.screenshot(path=str(tmp_path / f"example-{screen.size}.png"))
    assert screen.problems == [] and screen.outside == []


def test_api_docs_render_offline(screen, server_url: str, tmp_path: Path) -> None:  # noqa: F811
    screen.goto(server_url + "/docs")
    screen.wait_for_selector(".swagger-ui .opblock", timeout=15000)
    assert "digitscan" in screen.locator(".swagger-ui .info .title").inner_text()
    assert screen.locator(".opblock-summary-path:has-text('/v1/read')").count() == 1
    screen.screenshot(path=str(tmp_path / f"docs-{screen.size}.png"))
    assert screen.outside == [], screen.outside
    assert screen.problems == []


def test_model_card_link_shows_a_page(screen, tmp_path: Path) -> None:
    screen.click("footer a:has-text('model card')")
    screen.wait_for_selector("h1")
    assert screen.locator("h1").inner_text() == "digitscan default"
    assert "99.66%" in screen.locator(".lead").inner_text()
    assert "digitscan train --model default" in screen.locator("body").inner_text()
    assert screen.evaluate("document.documentElement.scrollWidth") <= SIZES[screen.size]["width"]
    screen.screenshot(path=str(tmp_path / f"model-{screen.size}.png"), full_page=True)
    assert screen.problems == [] and screen.outside == []
