"""Reading: a picture file -> the paper and writing found -> lines and digits -> results.

The stages, in the order a page goes through them:

- ``imageio``: files, bytes and folders -> pages (PNG, JPEG, TIFF, WebP, GIF, BMP, PDF).
- ``preprocess``: a page -> the sheet flattened, an ink map, rules removed, skew undone.
- ``segment``: the ink map -> candidate digits, grouped into lines and numbers.
- ``normalise``: a candidate -> the 28x28 picture the network expects, as MNIST made them.
- ``classifier``: 28x28 pictures -> class probabilities, with ONNX Runtime.
- ``reader``: the public ``Reader`` and ``read`` that run all of the above in batches.
- ``results``: ``Reading``, ``Line`` and ``Digit``, what a read returns.
- ``annotate`` and ``readout``: a reading drawn on its picture, and as text.

Reading never imports PyTorch, nor anything from ``training``, ``report`` or ``service``.
"""
