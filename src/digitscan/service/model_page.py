"""The model card as a page a person reads (``GET /model``); ``GET /v1/model`` stays JSON.

>>> html = model_card_html({"name": "digitscan default", "metrics_mnist_test": {"accuracy": 0.9966}})
>>> "99.66%" in html
True
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["model_card_html"]

_STYLE = """
body { margin: 0 auto; max-width: 56rem; padding: 1rem 1.2rem 2rem;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f23; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
.lead { color: #5b6570; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.3rem 0.6rem; border-bottom: 1px solid #d0d7de; }
th { width: 14rem; font-weight: 600; color: #3d4650; }
td { overflow-wrap: anywhere; }
code { font: 0.92em ui-monospace, monospace; }
table table th { width: 11rem; font-weight: 500; }
a { color: #1f6feb; }
@media (max-width: 640px) {
  th, td, table table th { display: block; width: auto; }
  th { border-bottom: 0; padding-bottom: 0; }
  td { padding-left: 1rem; }
}
"""


def model_card_html(card: dict[str, Any]) -> str:
    """A self-contained HTML page showing ``card``: the headline figures first, then every
    field of the card as nested tables."""
    name = str(card.get("name", "model"))
    metrics = card.get("metrics_mnist_test", {})
    headline = []
    if "accuracy" in metrics:
        errors = f" ({metrics['errors']:,} wrong of 10,000)" if "errors" in metrics else ""
        headline.append(f"MNIST test accuracy <strong>{metrics['accuracy']:.2%}</strong>{errors}")
    if card.get("task"):
        headline.append(escape(str(card["task"])))
    sections = "".join(
        f"<h2>{escape(_title(key))}</h2>{_value(value)}" for key, value in card.items() if key != "name"
    )
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(name)} — model card</title><style>{_STYLE}</style></head><body>"
        f"<p><a href=\"/\">← digitscan</a> · <a href=\"/v1/model\">the same card as JSON</a></p>"
        f"<h1>{escape(name)}</h1><p class=\"lead\">{'<br>'.join(headline)}</p>{sections}</body></html>"
    )


def _title(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{escape(_title(str(k)))}</th><td>{_value(v)}</td></tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in value):
            return escape(", ".join(str(item) for item in value)) if value else "—"
        return "; ".join(_value(item) for item in value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = escape(str(value))
    return f"<code>{text}</code>" if text.startswith(("digitscan ", "python ")) else text
