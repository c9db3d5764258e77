"""A LabReport as a page: one self-contained HTML file, or Markdown with its pictures.

The HTML carries everything inside it (pictures as data: URIs, the style sheet inline) and
a Content-Security-Policy that forbids loading anything else, so it opens the same offline,
mailed as an attachment or years later. It reflows to a phone's width and prints cleanly.

>>> html = render_html(report)                       # doctest: +SKIP
>>> markdown, pictures = render_markdown(report, "report_files")    # doctest: +SKIP
"""

from __future__ import annotations

import base64
from html import escape

from .blocks import (
    Block,
    Code,
    Facts,
    Figure,
    LabReport,
    Paragraph,
    Picture,
    Row,
    Section,
    Steps,
    Subheading,
    Table,
)

__all__ = ["render_html", "render_markdown"]

# Nothing outside the file may be loaded: pictures are data: URIs, the style is inline.
_CONTENT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d1d1f; background: #fff; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 1rem 0 0.5rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.2rem; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 0.5rem; }
h4 { font-size: 1rem; margin: 1.3rem 0 0.4rem; font-family: ui-monospace, Menlo, Consolas, monospace; }
.about { color: #57606a; font-size: 0.9rem; margin: 0.1rem 0; }
nav ol { padding-left: 1.4rem; columns: 2; font-size: 0.95rem; }
figure { margin: 1rem 0; text-align: center; break-inside: avoid; page-break-inside: avoid; }
figure img { border: 1px solid #e1e4e8; }
/* Each picture carries the width it is shown at (--width) and on paper (--print-width,
   sized in Python so that it keeps within its print height); it keeps its proportions. */
main img { width: var(--width, auto); max-width: 100%; height: auto; }
figcaption { font-size: 0.88rem; color: #57606a; margin-top: 0.3rem; }
img.pixelated { image-rendering: pixelated; image-rendering: crisp-edges; border: 1px solid #999; }
.scroll { overflow-x: auto; margin: 0.8rem 0; }
table { border-collapse: collapse; font-size: 0.88rem; margin: 0 auto; }
caption { caption-side: bottom; font-size: 0.85rem; color: #57606a; padding-top: 0.3rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; vertical-align: middle; }
th { background: #f6f8fa; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td { white-space: pre-line; }
table.facts th { width: 14rem; }
table.facts.pairs th { width: auto; }
table.facts.pairs td + th { border-left: 2px solid #d0d7de; }
/* Side by side while there is room: two plots, a picture and its table. */
.row { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; justify-content: center; align-items: flex-start; }
.row > * { flex: 1 1 0; min-width: 15rem; }
.row > .scroll { flex: 0 1 auto; min-width: 0; }
/* Long commands wrap at spaces (a path too long for the line breaks where it must), so
   nothing is cut off on screen or on paper. */
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.6rem 0.8rem; overflow-x: auto;
      font: 0.82rem/1.4 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: break-word; }
table.credits { margin: 0.6rem 0 0.8rem; font-size: 1rem; }
table.credits th, table.credits td { border: 0; background: none; padding: 0.1rem 1rem 0.1rem 0; }
@media (max-width: 600px) {
  body { font-size: 15px; }
  main { padding: 0.6rem 0.7rem 2rem; }
  nav ol { columns: 1; }
  table.facts th { width: auto; }
  .row { display: block; }
}
@media print {
  body { font-size: 10pt; line-height: 1.4; }
  p { margin: 0.5em 0; }
  nav ol { columns: 4; margin: 0.4rem 0; }
  h1 { margin-top: 0; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3, h4 { break-after: avoid; page-break-after: avoid; }
  .scroll { overflow: visible; }
  /* A table or listing is moved whole to the next page rather than leaving its header
     (or first lines) alone at the bottom; one longer than a page repeats its header. */
  pre, table, .scroll, .row { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  /* Pictures at a size that reads on paper, two or three to a page rather than one. */
  figure img { width: var(--print-width, auto); }
  figure { margin: 0.4rem 0; }
  figcaption { font-size: 8.5pt; }
  table { font-size: 8.5pt; }
  caption { font-size: 8pt; }
  th, td { padding: 0.1rem 0.35rem; }
  pre { font-size: 7.8pt; padding: 0.35rem 0.5rem; }
  td img { width: 30px; }
  .row { flex-wrap: nowrap; }
  .row > * { flex: 0 1 auto; min-width: 0; }
  /* A picture in a row keeps its print size; the table beside it takes what is left. */
  .row > figure { flex: 0 0 auto; width: min-content; }
  .row figure img { max-width: none; }
  .row table { font-size: 7.5pt; }
  h2 { margin-top: 1.2rem; }
  h3 { margin: 0.9rem 0 0.3rem; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  p:has(+ .scroll), p:has(+ pre), p:has(+ figure), p:has(+ .row) { break-after: avoid; page-break-after: avoid; }
}
"""


def _credit_row(label: str, value: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"


def render_html(report: LabReport) -> str:
    """The report as one HTML document with everything embedded."""
    contents = "".join(
        f'<li><a href="#{section.anchor}">{escape(section.title)}</a></li>' for section in report.sections
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CONTENT_POLICY}">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        f"<header><h1>{escape(report.title)}</h1>",
        *([f'<table class="credits">{"".join(_credit_row(label, value) for label, value in report.credits)}</table>']
          if report.credits else []),
        *(f'<p class="about">{escape(line)}</p>' for line in report.about),
        f"<nav><ol>{contents}</ol></nav></header>",
    ]
    for section in report.sections:
        parts.append(_html_section(section))
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _html_section(section: Section) -> str:
    body = "\n".join(_html_block(block) for block in section.blocks)
    return (
        f'<section id="{section.anchor}"><h2>{section.number}. {escape(section.title)}</h2>\n{body}\n</section>'
    )


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Subheading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Steps):
        return "<ol>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ol>"
    if isinstance(block, Code):
        caption = f"<p>{escape(block.caption)}</p>" if block.caption else ""
        return f"{caption}<pre>{escape(block.text)}</pre>"
    if isinstance(block, Figure):
        return f"<figure>{_html_img(block.picture)}<figcaption>{escape(block.caption)}</figcaption></figure>"
    if isinstance(block, Facts):
        return _html_facts(block)
    if isinstance(block, Row):
        return '<div class="row">' + "".join(_html_block(part) for part in block.blocks) + "</div>"
    if isinstance(block, Table):
        return _html_table(block)
    raise TypeError(f"no HTML for {type(block).__name__}")


def _html_facts(facts: Facts) -> str:
    per_row = max(1, facts.pairs_per_row)
    # Filled down the columns, so a reader goes down the first pairs, then the next.
    height = -(-len(facts.rows) // per_row)
    columns = [facts.rows[i * height:(i + 1) * height] for i in range(per_row)]
    rows = "".join(
        "<tr>" + "".join(f"<th>{escape(column[line][0])}</th><td>{escape(column[line][1])}</td>"
                         if line < len(column) else "<th></th><td></td>" for column in columns) + "</tr>"
        for line in range(height)
    )
    caption = f"<caption>{escape(facts.caption)}</caption>" if facts.caption else ""
    css = "facts pairs" if per_row > 1 else "facts"
    return f'<div class="scroll"><table class="{css}">{caption}{rows}</table></div>'


def _html_table(table: Table) -> str:
    def cell(tag: str, column: int, value: str | Picture) -> str:
        css = ' class="n"' if column in table.numeric else ""
        content = _html_img(value) if isinstance(value, Picture) else escape(value)
        return f"<{tag}{css}>{content}</{tag}>"

    head = "<tr>" + "".join(cell("th", i, name) for i, name in enumerate(table.columns)) + "</tr>"
    rows = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in table.rows)
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    return f'<div class="scroll"><table>{caption}<thead>{head}</thead><tbody>{rows}</tbody></table></div>'


def _html_img(picture: Picture) -> str:
    data = base64.b64encode(picture.png).decode("ascii")
    css = ' class="pixelated"' if picture.pixelated else ""
    return (
        f'<img{css} src="data:image/png;base64,{data}" alt="{escape(picture.alt)}" '
        f'style="--width:{picture.width}px; --print-width:{picture.print_width:.2f}cm">'
    )


# ---- Markdown --------------------------------------------------------------------------------


def render_markdown(report: LabReport, picture_folder: str) -> tuple[str, dict[str, bytes]]:
    """The report as GitHub-flavoured Markdown, and its pictures by file name; the Markdown
    refers to them as ``picture_folder/NAME``."""
    pictures: dict[str, bytes] = {}

    def link(picture: Picture) -> str:
        if pictures.get(picture.name, picture.png) != picture.png:
            raise ValueError(f"two different pictures named {picture.name}")
        pictures[picture.name] = picture.png
        return f"![{_md_text(picture.alt)}]({picture_folder}/{picture.name})"

    lines = [f"# {report.title}", ""]
    for label, value in report.credits:
        lines += [f"**{_md_text(label)}:** {_md_text(value)}  "]
    if report.credits:
        lines += [""]
    for line in report.about:
        lines += [f"*{_md_text(line)}*", ""]
    for section in report.sections:
        lines += [f"## {section.number}. {section.title}", ""]
        for block in section.blocks:
            lines += _md_block(block, link) + [""]
    return "\n".join(lines).rstrip() + "\n", pictures


def _md_block(block: Block, link) -> list[str]:
    if isinstance(block, Paragraph):
        return [_md_text(block.text)]
    if isinstance(block, Subheading):
        return ["#" * block.level + " " + block.text]
    if isinstance(block, Steps):
        return [f"{number}. {_md_text(item)}" for number, item in enumerate(block.items, start=1)]
    if isinstance(block, Code):
        fence = "````" if "```" in block.text else "```"
        return ([_md_text(block.caption), ""] if block.caption else []) + [fence, block.text, fence]
    if isinstance(block, Figure):
        return [link(block.picture), "", f"*{_md_text(block.caption)}*"]
    if isinstance(block, Facts):
        table = Table(["", ""], [[name, value] for name, value in block.rows], caption=block.caption)
        return _md_table(table, link)
    if isinstance(block, Table):
        return _md_table(block, link)
    if isinstance(block, Row):
        lines: list[str] = []
        for part in block.blocks:
            lines += _md_block(part, link) + [""]
        return lines[:-1]
    raise TypeError(f"no Markdown for {type(block).__name__}")


def _md_table(table: Table, link) -> list[str]:
    def cell(value: str | Picture) -> str:
        return link(value) if isinstance(value, Picture) else _md_cell(value)

    rule = ["---:" if i in table.numeric else "---" for i in range(len(table.columns))]
    lines = ["| " + " | ".join(_md_cell(name) for name in table.columns) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in table.rows]
    if table.caption:
        lines += ["", f"*{_md_text(table.caption)}*"]
    return lines


def _md_text(text: str) -> str:
    # Characters that would start emphasis, links or HTML; numbers and prose are kept as is.
    for char in ("\\", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(char, "\\" + char)
    return text


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")
