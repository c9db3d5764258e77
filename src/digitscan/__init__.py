"""digitscan: train convolutional networks on handwritten digits and read digits from scans.

>>> import digitscan
>>> readings = digitscan.read("form.png")            # doctest: +SKIP
>>> readings[0].text                                  # doctest: +SKIP
'1247673'

Importing digitscan is light: reading needs numpy, OpenCV and ONNX Runtime only, and
PyTorch is imported only when you train.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; imported on first use so `import digitscan` stays fast
# and never pulls in PyTorch.
_LAZY = {
    "DigitscanError": "errors",
    "Classifier": "reading.classifier",
    "load_mnist": "training.mnist",
    "read": "reading.reader",
    "Reader": "reading.reader",
    "Reading": "reading.results",
    "Digit": "reading.results",
    "Line": "reading.results",
    "train": "training.loop",
    "TrainConfig": "training.loop",
    "evaluate": "training.evaluation",
    "Evaluation": "training.evaluation",
}

__all__ = [
    "__version__",
    "DigitscanError",
    "Classifier",
    "load_mnist",
    "read",
    "Reader",
    "Reading",
    "Digit",
    "Line",
    "train",
    "TrainConfig",
    "evaluate",
    "Evaluation",
]

if TYPE_CHECKING:
    from .errors import DigitscanError
    from .reading.classifier import Classifier
    from .reading.reader import Reader, read
    from .reading.results import Digit, Line, Reading
    from .training.evaluation import Evaluation, evaluate
    from .training.loop import TrainConfig, train
    from .training.mnist import load_mnist


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'digitscan' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, name)
