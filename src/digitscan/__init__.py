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
    "Classifier": "classifier",
    "load_mnist": "mnist",
    "train": "train",
    "TrainConfig": "train",
    "evaluate": "evaluate",
    "Evaluation": "evaluate",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from .classifier import Classifier
    from .errors import DigitscanError
    from .evaluate import Evaluation, evaluate
    from .mnist import load_mnist
    from .train import TrainConfig, train


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'digitscan' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, name)
