"""The networks, as small PyTorch modules built from a config (needs ``digitscan[train]``).

``seed`` is the lab's Keras network layer for layer; ``default`` is digitscan's own design,
chosen by measurement on MNIST and on real scans (see the model card and the README).
Every model takes (N, 1, 28, 28) float pixels in [0, 1], white ink on black, and returns
logits (N, 10); the MNIST mean/std scaling is inside the model so exports need no
preprocessing contract beyond "MNIST-like pixels".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .errors import DigitscanError

__all__ = ["ModelConfig", "MODEL_CONFIGS", "build_model", "count_parameters"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass(frozen=True)
class ModelConfig:
    """What a network looks like. ``kind`` picks the module; the rest are its sizes."""

    name: str
    kind: str  # "seed" (the lab's) or "convnet" (digitscan's)
    channels: tuple[int, ...] = ()
    hidden: int = 32
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


MODEL_CONFIGS: dict[str, ModelConfig] = {
    # The lab's Keras model: Conv2D(32, 3x3, relu) -> MaxPool(2) -> Flatten -> Dense(32, relu)
    # -> Dense(10). 320 + 173,088 + 330 = 173,738 parameters, as in the lab's summary.
    "seed": ModelConfig(name="seed", kind="seed", channels=(32,), hidden=32),
    # Two blocks of two 3x3 convolutions with batch norm; widths picked by timing an epoch
    # on a 2-core CPU against test accuracy (benchmarks/model_choice.py).
    "default": ModelConfig(
        name="default", kind="convnet", channels=(32, 32, 64, 64), hidden=128, dropout=0.25
    ),
}


class _Normalise(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


class SeedNet(nn.Module):
    """The lab's network, in PyTorch."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        filters = config.channels[0]
        self.features = nn.Sequential(
            nn.Conv2d(1, filters, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()
        )
        self.classifier = nn.Sequential(
            nn.Linear(filters * 13 * 13, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The lab fed pixels scaled to [0, 1] with no further normalisation.
        return self.classifier(self.features(x))


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class ConvNet(nn.Module):
    """Pairs of 3x3 conv + batch norm + ReLU, a 2x2 max-pool after each pair, then a small
    dense head. Padding keeps 28 -> 14 -> 7, so strokes near the border still count."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [_Normalise()]
        c_in, size = 1, 28
        for index, c_out in enumerate(config.channels):
            layers += _conv_block(c_in, c_out)
            c_in = c_out
            if index % 2 == 1:
                layers.append(nn.MaxPool2d(2))
                size //= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(c_in * size * size, config.hidden, bias=False),
            nn.BatchNorm1d(config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_model(config: ModelConfig | str) -> nn.Module:
    """A fresh, randomly initialised network for ``config`` (a config or a name)."""
    if isinstance(config, str):
        if config not in MODEL_CONFIGS:
            names = ", ".join(sorted(MODEL_CONFIGS))
            raise DigitscanError(f"unknown model {config!r}: choose one of {names}")
        config = MODEL_CONFIGS[config]
    if config.kind == "seed":
        return SeedNet(config)
    if config.kind == "convnet":
        return ConvNet(config)
    raise DigitscanError(f"unknown model kind {config.kind!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
