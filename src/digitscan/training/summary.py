"""A network described for people: a Keras-style summary table and a diagram (PNG, SVG).

The lab report asks for "the neural network model diagram"; the table is what Keras'
``model.summary()`` printed in the lab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_path

__all__ = ["LayerRow", "summarise", "format_summary", "draw_diagram"]


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]  # without the batch dimension: (C, H, W) or (features,)
    parameters: int

    @property
    def shape_text(self) -> str:
        return "(None, " + ", ".join(str(d) for d in self.output_shape) + ")"


def summarise(model) -> list[LayerRow]:
    """One row per leaf layer in the order data flows through it."""
    import torch

    rows: list[LayerRow] = []
    hooks = []
    names = {module: name for name, module in model.named_modules()}

    def record(module, _inputs, output) -> None:
        params = sum(p.numel() for p in module.parameters(recurse=False))
        kind = type(module).__name__.lstrip("_")  # a private helper module is still a layer to the reader
        rows.append(LayerRow(names[module] or "input", kind, tuple(output.shape[1:]), params))

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    return rows


def format_summary(rows: list[LayerRow], title: str) -> str:
    """The rows as a table like Keras' ``model.summary()``."""
    width_name = max(24, *(len(f"{r.name} ({r.kind})") + 2 for r in rows))
    rule = "─" * (width_name + 40)
    lines = [f'Model: "{title}"', rule, f"{'Layer (type)':<{width_name}}{'Output Shape':<26}{'Param #':>14}", rule]
    for row in rows:
        lines.append(f"{row.name + ' (' + row.kind + ')':<{width_name}}{row.shape_text:<26}{row.parameters:>14,}")
    total = sum(r.parameters for r in rows)
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {total:,}", "Non-trainable params: 0", rule]
    return "\n".join(lines)


def draw_diagram(rows: list[LayerRow], title: str, path: str | os.PathLike[str]) -> None:
    """A top-to-bottom diagram of the layers; the format follows the suffix (.png, .svg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    colours = {
        "Conv2d": "#8ecae6",
        "BatchNorm2d": "#d9ed92",
        "BatchNorm1d": "#d9ed92",
        "ReLU": "#ffd6a5",
        "MaxPool2d": "#ffadad",
        "Flatten": "#e0e0e0",
        "Linear": "#bdb2ff",
        "Dropout": "#f1f1f1",
    }
    boxes = [("input", "Input", "(None, 1, 28, 28)", 0)] + [(r.name, r.kind, r.shape_text, r.parameters) for r in rows]
    height = 0.62 * len(boxes) + 0.9
    figure, axis = plt.subplots(figsize=(6.2, height))
    axis.set_xlim(0, 10)
    axis.set_ylim(-len(boxes) + 0.2, 1.3)
    axis.axis("off")
    axis.text(5, 0.95, title, ha="center", va="center", fontsize=12, weight="bold")
    for index, (_name, kind, shape, params) in enumerate(boxes):
        y = -index
        axis.add_patch(
            FancyBboxPatch(
                (1.2, y - 0.25),
                7.6,
                0.5,
                boxstyle="round,pad=0.03",
                facecolor=colours.get(kind, "#ffffff"),
                edgecolor="#333333",
            )
        )
        label = f"{kind}  ·  {shape}" + (f"  ·  {params:,} params" if params else "")
        axis.text(5, y, label, ha="center", va="center", fontsize=8.5)
        if index:
            axis.annotate(
                "", xy=(5, y + 0.27), xytext=(5, y + 0.73), arrowprops={"arrowstyle": "->", "color": "#333333"}
            )
    total = sum(box[3] for box in boxes)
    axis.text(5, -len(boxes) + 0.45, f"{total:,} parameters in all", ha="center", fontsize=9)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png", dpi=130, bbox_inches="tight")
    plt.close(figure)
