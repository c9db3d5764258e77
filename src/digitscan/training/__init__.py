"""Training: data -> a network -> a run directory with weights, ONNX, metrics and pictures.

- ``mnist`` and ``datasets``: MNIST (checked, downloaded once) and labelled folders.
- ``simulate``: the scan simulator that writes MNIST digits onto pictures of paper.
- ``models``: the networks, each a small PyTorch module built from a config.
- ``augment``: batch augmentation on tensors.
- ``loop``: ``train()``, the training loop, top to bottom; ``rundir`` keeps the run directory
  (config, history, checkpoints), ``device`` picks the device, precision and threads, and
  ``cores`` counts the cores that are free.
- ``export``: safetensors weights and ONNX.
- ``evaluation``, ``metrics``, ``plots``: ``evaluate()``, its figures and pictures.
- ``summary``: the Keras-style summary table and the model diagram.

Training may use ``reading`` (the reader's normalisation, so a network learns from what it
will be shown); PyTorch is imported only inside the functions that train.
"""
