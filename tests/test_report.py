"""The lab report, from a short real run: every section of the template, numbers that match
the run's own files, pictures that decode, nothing loaded from outside, the command line."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

TEMPLATE = [
    "Aim",
    "Problem statement and dataset",
    "Neural network model",
    "Design steps",
    "Program",
    "Output",
    "Result",
]


class _Tables(HTMLParser):
    """Every <table> of a page as (caption, rows of cell text); pictures in cells as "<img>"."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._rows: list[list[str]] | None = None
        self._caption = ""
        self._text: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "table":
            self._rows, self._caption = [], ""
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._text = []
        elif tag == "img" and self._text is not None:
            self._text.append("<img>")
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._rows is not None:
            self.tables.append((self._caption, self._rows))
            self._rows = None
        elif tag in ("td", "th") and self._text is not None and self._rows:
            self._rows[-1].append("".join(self._text).strip())
            self._text = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self._caption += data
        elif self._text is not None:
            self._text.append(data)


def tables_of(html: str) -> list[tuple[str, list[list[str]]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def table_named(tables: list[tuple[str, list[list[str]]]], caption_part: str) -> list[list[str]]:
    found = [rows for caption, rows in tables if caption_part in caption]
    assert len(found) == 1, f"{caption_part!r} among {[caption for caption, _ in tables]}"
    return found[0]


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


@pytest.fixture(scope="module")
def html_report(tiny_run: Path, mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    from digitscan.report.writer import write_report

    out = tmp_path_factory.mktemp("report") / "report.html"
    assert write_report(tiny_run, out=out, data_dir=mnist_dir) == out
    return out.read_text(encoding="utf-8")


def test_every_section_of_the_template_in_order(html_report: str) -> None:
    titles = re.findall(r"<h2>(\d+)\. ([^<]+)</h2>", html_report)
    assert [(int(n), unescape(t)) for n, t in titles] == list(enumerate(TEMPLATE, start=1))
    sub = [unescape(t) for t in re.findall(r"<h3>([^<]+)</h3>", html_report)]
    assert sub[0].startswith("6.1") and sub[-1] == "6.6 New sample data prediction"


def test_output_numbers_match_metrics_and_history(html_report: str, tiny_run: Path) -> None:
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    with open(tiny_run / "history.csv", newline="") as handle:
        history = list(csv.DictReader(handle))
    tables = tables_of(html_report)

    epochs = table_named(tables, "history.csv")[1:]
    assert len(epochs) == len(history) == 2
    for shown, row in zip(epochs, history, strict=True):
        assert int(shown[0]) == int(row["epoch"])
        for column, key in ((1, "loss"), (2, "val_loss"), (3, "accuracy"), (4, "val_accuracy")):
            assert number(shown[column]) == pytest.approx(float(row[key]), abs=5e-5)

    report = metrics["classification_report"]
    for row in table_named(tables, "Precision, recall and F1")[1:]:
        if row[0] == "accuracy":
            assert number(row[3]) == pytest.approx(metrics["accuracy"], abs=5e-5)
            continue
        expected = report[row[0]]
        assert [number(v) for v in row[1:4]] == pytest.approx(
            [expected["precision"], expected["recall"], expected["f1-score"]], abs=5e-5
        )
        assert number(row[4]) == expected["support"]

    matrix = np.array(metrics["confusion_matrix"])
    shown = table_named(tables, "The confusion matrix as numbers")
    assert np.array_equal(np.array([[number(v) for v in row[1:11]] for row in shown[1:11]]), matrix)
    assert number(shown[-1][-1]) == metrics["count"] == 10_000

    text = unescape(re.sub(r"<[^>]+>", " ", html_report))
    last = history[-1]
    assert f"classified {metrics['accuracy']:.2%} of the 10,000 test digits" in text
    assert f"({metrics['errors']:,} mistakes)" in text
    assert f"validation loss {float(last['val_loss']):.4f}" in text
    assert f"{metrics['errors']:,} of the {metrics['count']:,} test pictures were misclassified" in text
    mistakes = table_named(tables, "most confident mistakes")
    assert mistakes[1][:3] == [f"#{metrics['misclassified'][0]['index']}", str(metrics["misclassified"][0]["label"]),
                               str(metrics["misclassified"][0]["predicted"])]


def test_dataset_model_and_program_come_from_the_run(html_report: str, tiny_run: Path, mnist_dir: Path) -> None:
    from digitscan.training.mnist import MNIST_FILES, load_mnist
    from digitscan.training.models import build_model, count_parameters

    config = json.loads((tiny_run / "config.json").read_text())
    tables = tables_of(html_report)
    test_labels = load_mnist("test", mnist_dir).labels
    balance = table_named(tables, "Class balance")
    used_column = balance[0].index("used by this run")
    test_column = balance[0].index("test pictures")
    assert [number(row[test_column]) for row in balance[1:11]] == np.bincount(test_labels, minlength=10).tolist()
    assert number(balance[-1][used_column]) == config["train"]["limit"] == 6000

    checksums = table_named(tables, "Checksums")
    assert len(checksums) == 5 and all(row[3] == "matches" for row in checksums[1:])
    assert {row[0].removesuffix(".gz"): row[1] for row in checksums[1:]} == MNIST_FILES

    summary = table_named(tables, "Summary, as Keras")
    assert summary[-1] == ["Total", "", f"{count_parameters(build_model('seed')):,}"] == ["Total", "", "173,738"]

    text = unescape(html_report)
    # The command as recorded, with absolute paths shortened: no machine's folders in a hand-in.
    from digitscan.report.sections import _portable

    assert _portable(config["command"]) in text
    assert "--batch-size 64" in text and "--limit 6000" in text and "--no-augment" in text
    assert config["machine"]["torch"] in text


def test_samples_section_reads_the_bundled_examples(html_report: str, tiny_run: Path) -> None:
    from digitscan.reading.reader import Reader, bundled_examples

    examples = bundled_examples()
    assert examples, "the package ships example scans"
    text = unescape(html_report)
    assert "No --samples were given, so this section reads the example scans shipped with digitscan" in text
    for reading in Reader(tiny_run).read([str(path) for path in examples]):
        assert f"<h4>{Path(reading.file).name}</h4>" in text
        assert f"read: {reading.text.replace(chr(10), ' / ')}" in text
    tables = tables_of(html_report)
    digit_tables = [rows for caption, rows in tables if caption.startswith("Each digit found")]
    assert len(digit_tables) == len(examples)
    # A compact grid: (#, network saw, read) for four digits a row; the last row may be short.
    assert digit_tables and all(row[1] == "<img>" for rows in digit_tables for row in rows[1:])
    assert all(cell in ("<img>", "") for rows in digit_tables for row in rows[1:] for cell in row[1::3])


def test_every_picture_is_embedded_and_decodes(html_report: str) -> None:
    from PIL import Image

    sources = re.findall(r'<img[^>]*\bsrc="([^"]*)"', html_report)
    assert len(sources) >= 10  # 7 pictures of the run and the model, samples, digits seen
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        picture.load()
        assert picture.width > 0 and picture.height > 0


def test_nothing_is_loaded_from_outside(html_report: str) -> None:
    assert "http://" not in html_report and "https://" not in html_report
    assert "<script" not in html_report and "<link" not in html_report
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html_report))
    assert "default-src 'none'" in html_report  # the page itself forbids outside loads


def test_report_target_picks_format_and_refuses_to_overwrite(tmp_path: Path) -> None:
    from digitscan.errors import DigitscanError
    from digitscan.report.writer import report_target

    assert report_target(tmp_path) == (tmp_path / "report.html", "html")
    assert report_target(tmp_path, tmp_path / "lab.md") == (tmp_path / "lab.md", "md")
    assert report_target(tmp_path, None, "pdf") == (tmp_path / "report.pdf", "pdf")
    with pytest.raises(DigitscanError, match="--format is pdf"):
        report_target(tmp_path, tmp_path / "lab.md", "pdf")
    (tmp_path / "old.html").write_text("kept")
    with pytest.raises(DigitscanError, match="already exists"):
        report_target(tmp_path, tmp_path / "old.html")
    assert report_target(tmp_path, tmp_path / "old.html", overwrite=True)[0] == tmp_path / "old.html"


# ---- the command line ---------------------------------------------------------------------


def digitscan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digitscan", *args], capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "120"}, timeout=300,
    )


def test_cli_writes_markdown_with_its_pictures_beside_it(tiny_run: Path, mnist_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    from digitscan.reading.reader import bundled_examples

    sample = bundled_examples()[0]
    out = tmp_path / "lab.md"
    result = digitscan("report", str(tiny_run), "--samples", str(sample), "--out", str(out),
                       "--data-dir", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    assert f"report: {out}" in result.stdout
    markdown = out.read_text(encoding="utf-8")
    assert re.findall(r"^## \d+\. (.+)$", markdown, flags=re.M) == TEMPLATE
    assert f"The sample pictures given with --samples: {sample.name}" in markdown.replace("\\_", "_")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(links) >= 10 and all(link.startswith("lab_files/") for link in links)
    for link in links:
        with Image.open(tmp_path / link) as picture:
            picture.load()
    assert "http://" not in markdown and "https://" not in markdown
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert f"classified {metrics['accuracy']:.2%} of the 10,000 test digits" in markdown

    again = digitscan("report", str(tiny_run), "--out", str(out), "--format", "md")
    assert again.returncode == 2 and "already exists" in again.stderr and "--overwrite" in again.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["{tmp}/nowhere"], "no such run directory"),
        (["{tmp}"], "not a finished training run"),
        (["{run}", "--format", "docx"], "--format must be one of html, md, pdf"),
        (["{run}", "--samples", "{tmp}/missing.png", "--out", "{tmp}/r.html"], "--samples"),
    ],
)
def test_cli_bad_input_is_one_clear_line(args: list[str], fragment: str, tiny_run: Path, tmp_path: Path) -> None:
    result = digitscan("report", *[a.replace("{tmp}", str(tmp_path)).replace("{run}", str(tiny_run)) for a in args])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.count("\n") == 0 and fragment in message, message


def test_lab_checks_its_samples_before_training(tmp_path: Path) -> None:
    result = digitscan("lab", "--samples", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "--samples" in result.stderr and "no such file" in result.stderr
    assert not (tmp_path / "run").exists()  # nothing was trained


def test_lab_runs_the_whole_lab(mnist_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lab"
    # A short lab: the lab's network and batch size, on a slice of MNIST for one epoch.
    result = digitscan("lab", "--epochs", "1", "--limit", "640", "--out", str(out), "--data-dir", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    config = json.loads((out / "config.json").read_text())
    assert (config["train"]["model"], config["train"]["epochs"], config["train"]["batch_size"]) == ("seed", 1, 64)
    metrics = json.loads((out / "metrics.json").read_text())
    html = (out / "report.html").read_text(encoding="utf-8")
    assert [unescape(t) for t in re.findall(r"<h2>\d+\. ([^<]+)</h2>", html)] == TEMPLATE
    assert f"classified {metrics['accuracy']:.2%} of the 10,000 test digits" in html


# ---- in a real browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    from digitscan.report.pdf import find_chromium

    pytest.importorskip("playwright.sync_api")
    found = find_chromium()
    if found is None:
        pytest.skip("Chromium is not installed")
    return found


def test_chromium_shows_the_report_without_errors(
    html_report: str, chromium: Path, tmp_path: Path
) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from digitscan.report.pdf import CHROMIUM_ARGS

    page_file = tmp_path / "report.html"
    page_file.write_text(html_report, encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
            page.goto(page_file.as_uri(), wait_until="load")
            broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
            images = page.evaluate("document.images.length")
            page_width = page.evaluate("document.documentElement.scrollWidth")
            page.screenshot(path=str(tmp_path / "phone.png"), full_page=False)
        finally:
            browser.close()
    assert problems == []
    assert images >= 10 and broken == 0
    assert page_width <= 390  # wide tables scroll inside their box; the page does not
    with Image.open(tmp_path / "phone.png") as shot:
        assert shot.size == (390, 844)
        darkest, lightest = shot.convert("L").getextrema()
        assert lightest - darkest > 100  # text and pictures, not a blank page


def test_each_section_on_a_desktop_screen(html_report: str, chromium: Path, tmp_path: Path) -> None:
    """Every section shown at 1280x900 without a console error; a screenshot of each is kept
    in the test's temp dir (section-0.png is the title block) to look at."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from digitscan.report.pdf import CHROMIUM_ARGS

    page_file = tmp_path / "report.html"
    page_file.write_text(html_report, encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
            page.goto(page_file.as_uri(), wait_until="load")
            page.locator("header").screenshot(path=str(tmp_path / "section-0.png"))
            for number in range(1, len(TEMPLATE) + 1):
                page.locator(f"#s{number}").screenshot(path=str(tmp_path / f"section-{number}.png"))
            # Side by side on a desktop: the two learning curves share one line.
            tops = page.evaluate("[...document.querySelectorAll('#s6 .row')[0].querySelectorAll('img')]"
                                 ".map(i => i.getBoundingClientRect().top)")
        finally:
            browser.close()
    assert problems == []
    assert len(tops) == 2 and tops[0] == tops[1]
    for number in range(len(TEMPLATE) + 1):
        with Image.open(tmp_path / f"section-{number}.png") as shot:
            assert shot.width > 600 and shot.height > 50
            darkest, lightest = shot.convert("L").getextrema()
            assert lightest - darkest > 100, f"section {number} is blank"


def test_pdf_renders_to_pages(html_report: str, chromium: Path, tmp_path: Path) -> None:
    import pypdfium2

    from digitscan.report.pdf import html_to_pdf

    problems: list[str] = []
    data = html_to_pdf(html_report, problems)  # what write_report(..., format="pdf") writes
    assert problems == []
    assert data[:5] == b"%PDF-"
    document = pypdfium2.PdfDocument(data)
    try:
        # A standard run's report was 13 pages, mostly blank page bottoms under pictures
        # pushed to the next page; sized for paper it takes about 8.
        assert 2 <= len(document) <= 9
        first_page = document[0].get_textpage().get_text_range()
        assert "Lab report" in first_page and "1. Aim" in first_page
        every_page = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
        assert "6.6 New sample data prediction" in every_page and "7. Result" in every_page
        for index in range(len(document)):  # the pages as pictures, to look at
            document[index].render(scale=0.6).to_pil().save(tmp_path / f"page-{index + 1}.png")
    finally:
        document.close()


# ---- the pictures -------------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [1, 2, 5, 40])
def test_learning_curves_have_whole_epoch_ticks(epochs: int) -> None:
    from digitscan.training.plots import curve_figure, epoch_ticks

    history = [{"epoch": e, "loss": 1 / e, "val_loss": 0.8 / e, "accuracy": 1 - 0.1 / e, "val_accuracy": 0.99}
               for e in range(1, epochs + 1)]
    for key in ("loss", "accuracy"):
        ticks = epoch_ticks(curve_figure(history, key, key))
        assert ticks and all(tick == int(tick) for tick in ticks), ticks
        assert min(ticks) >= 1 and max(ticks) <= epochs
        if epochs <= 15:
            assert ticks == list(range(1, epochs + 1))  # one tick per epoch: 1, not 0.96 and 1.02


def test_learning_curves_of_the_run_have_whole_epoch_ticks(tiny_run: Path) -> None:
    from digitscan.training.plots import curve_figure, epoch_ticks

    with open(tiny_run / "history.csv", newline="") as handle:
        history = [{key: (int(value) if key == "epoch" else float(value)) for key, value in row.items()}
                   for row in csv.DictReader(handle)]
    assert epoch_ticks(curve_figure(history, "loss", "loss")) == [1.0, 2.0]


def _evaluation(count: int = 2000, seed: int = 0):
    """A made-up Evaluation: mostly confident and right, a tail of unsure and wrong."""
    from digitscan.training.evaluation import Evaluation

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    confidence = np.where(rng.random(count) < 0.9, rng.uniform(0.97, 1.0, count), rng.uniform(0.35, 0.97, count))
    answers = np.where(rng.random(count) < confidence, labels, (labels + 1) % 10)
    probabilities = np.full((count, 10), 0.0)
    probabilities[np.arange(count), answers] = confidence
    probabilities[np.arange(count), (answers + 2) % 10] = 1 - confidence
    return Evaluation("made-up", "made-up", labels, probabilities, 0.0, images=rng.random((count, 28, 28)))


def test_calibration_shows_counts_and_marks_sparse_bins() -> None:
    from digitscan.training.metrics import reliability_bins
    from digitscan.training.plots import SPARSE_BIN, calibration_figure

    evaluation = _evaluation()
    bins = [b for b in reliability_bins(evaluation.confidence, evaluation.correct) if b["count"]]
    assert any(b["count"] < SPARSE_BIN for b in bins) and any(b["count"] >= SPARSE_BIN for b in bins)
    curve, counts = calibration_figure(evaluation).axes
    # Every non-empty bin's count is written over its bar.
    assert sorted(int(t.get_text().replace(",", "")) for t in counts.texts) == sorted(b["count"] for b in bins)
    lines = {line.get_label(): line for line in curve.get_lines()}
    joined = next(line for label, line in lines.items() if label.startswith("model"))
    hollow = next(line for label, line in lines.items() if label.startswith("fewer than"))
    # The line joins only the bins with enough pictures; the sparse ones stand apart, hollow.
    assert list(joined.get_xdata()) == [b["confidence"] for b in bins if b["count"] >= SPARSE_BIN]
    assert list(hollow.get_xdata()) == [b["confidence"] for b in bins if b["count"] < SPARSE_BIN]
    assert hollow.get_linestyle() == "None" and hollow.get_markerfacecolor() == "none"


def test_misclassified_labels_are_readable_on_paper() -> None:
    from digitscan.training.plots import misclassified_figure

    evaluation = _evaluation()
    figure = misclassified_figure(evaluation.images, evaluation, limit=20)
    titles = [axis.title for axis in figure.axes if axis.get_title()]
    assert len(titles) == 20
    # The report prints this picture 18 cm wide at most: the labels come out at 8 pt or more.
    width_cm = figure.get_figwidth() * 2.54
    assert all(title.get_fontsize() * min(1.0, 18 / width_cm) >= 8 for title in titles)


def test_title_block_program_code_and_no_machine_paths(tiny_run: Path, tmp_path: Path) -> None:
    from digitscan.report.writer import write_report

    path = write_report(tiny_run, out=tmp_path / "hand-in.html", title="Digits by convolution",
                        credits=[("Author", "Ada Student"), ("ID", "21BCE1234"), ("Institution", "VIT")])
    html = path.read_text()
    assert "<h1>Digits by convolution</h1>" in html
    credits = dict(row for row in table_of_class(html, "credits"))
    assert credits["Author"] == "Ada Student" and credits["ID"] == "21BCE1234" and credits["Institution"] == "VIT"
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", credits["Date"])
    text = unescape(re.sub(r'data:[^"]+', "", html))
    assert "class SeedNet(_Calibrated):" in text and "def forward(self, x" in text  # the network as code
    assert "loss.backward()" in text and "optimizer.step()" in text  # the training step
    assert "training loss lies above the validation loss" in text
    assert not re.search(r"(?:/tmp|/work|/home|/root|/private|/Users)/", text), "an absolute path leaked"
    assert ">True<" not in html and ">None<" not in html and "_Normalise" not in text
    assert text.count("macro avg") == 1  # the classification report once, as a table


def table_of_class(html: str, css_class: str) -> list[tuple[str, str]]:
    block = re.search(rf'<table class="{css_class}">(.*?)</table>', html, re.S).group(1)
    return [(unescape(th), unescape(td)) for th, td in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", block)]
