"""The line recogniser's network (needs ``digitscan[train]``).

Input (N, 1, 32, W): a line's ink map, 0 paper, 1 ink, W a multiple of 2. Output
(N, W / 2, 12): per output step, the probabilities of CTC's blank, the ten digits and a
break between numbers (``reading.lines.SYMBOLS``).

Convolutions only, no recurrent layer: a 2-core CPU trains and reads them several times
faster than an LSTM, and the 1-D convolutions over the columns see about two digits either
side, which is the context CTC needs to place breaks and repeated digits. The height is
pooled away in four steps (32 -> 2), the width only once (W -> W/2), so a digit keeps two to
three output steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = ["LINE_MODEL_CONFIGS", "LineModelConfig", "LineNet", "build_line_model"]

N_SYMBOLS = 12


@dataclass(frozen=True)
class LineModelConfig:
    name: str
    widths: tuple[int, ...] = (32, 64, 96, 128)  # conv widths of the four 2-D stages
    sequence_width: int = 192  # channels of the 1-D layers over the columns
    sequence_layers: int = 3
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


LINE_MODEL_CONFIGS = {"lines": LineModelConfig(name="lines")}


def _conv(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class LineNet(nn.Module):
    def __init__(self, config: LineModelConfig) -> None:
        super().__init__()
        a, b, c, d = config.widths
        self.features = nn.Sequential(
            _conv(1, a), nn.MaxPool2d(2, 2),            # 16 x W/2
            _conv(a, b), nn.MaxPool2d((2, 1), (2, 1)),  # 8 x W/2
            _conv(b, c), _conv(c, c), nn.MaxPool2d((2, 1), (2, 1)),  # 4 x W/2
            _conv(c, d), nn.MaxPool2d((2, 1), (2, 1)),  # 2 x W/2
        )
        layers: list[nn.Module] = []
        width = 2 * d
        for index in range(config.sequence_layers):
            dilation = 1 + index % 2  # 1, 2, 1: wider context at no extra cost
            layers += [nn.Conv1d(width, config.sequence_width, 3, padding=dilation, dilation=dilation, bias=False),
                       nn.BatchNorm1d(config.sequence_width), nn.ReLU(inplace=True), nn.Dropout(config.dropout)]
            width = config.sequence_width
        self.sequence = nn.Sequential(*layers)
        self.classify = nn.Conv1d(width, N_SYMBOLS, 1)
        # Fitted after training like the digit model's: divides the logits (1 while training).
        self.register_buffer("temperature", torch.ones(()))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, W) -> (N, W/2, 12) logits."""
        features = self.features(x)
        n, channels, height, steps = features.shape
        columns = features.reshape(n, channels * height, steps)
        return self.classify(self.sequence(columns)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, W) -> (N, W/2, 12) probabilities, as ONNX serves them."""
        return torch.softmax(self.logits(x) / self.temperature, dim=-1)


def build_line_model(config: LineModelConfig) -> LineNet:
    return LineNet(config)
