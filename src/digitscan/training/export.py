"""Saving a trained network: weights as safetensors, the network as ONNX.

safetensors because a weights file must never run code when loaded (pickle can); ONNX so
that reading and serving run on ONNX Runtime without PyTorch.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..files import atomic_path, write_bytes

__all__ = ["save_weights", "load_weights", "export_onnx", "max_difference_onnx_vs_torch", "quantize_line_onnx"]

ONNX_OPSET = 17


def save_weights(path: str | os.PathLike[str], tensors: dict, metadata: dict[str, str]) -> None:
    from safetensors.torch import save

    write_bytes(path, save(tensors, metadata={k: str(v) for k, v in metadata.items()}))


def load_weights(path: str | os.PathLike[str]) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def export_onnx(model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as ONNX with input ``image`` (N,1,28,28) and output ``logits`` (N,10)."""
    _export(model, path, (1, 1, 28, 28), "image", "logits",
            {"image": {0: "batch"}, "logits": {0: "batch"}})


def export_line_onnx(model, path: str | os.PathLike[str]) -> None:
    """Write the line recogniser as ONNX: input ``line`` (N,1,32,W), output
    ``probabilities`` (N,W/2,12), batch and width both free."""
    _export(model, path, (1, 1, 32, 64), "line", "probabilities",
            {"line": {0: "batch", 3: "width"}, "probabilities": {0: "batch", 1: "steps"}})


def quantize_line_onnx(source: str | os.PathLike[str], target: str | os.PathLike[str],
                       calibration_lines: list[np.ndarray]) -> None:
    """Write an 8-bit copy of the line recogniser ``source`` at ``target``: its convolutions'
    weights int8 per output channel, their inputs uint8 with ranges measured on
    ``calibration_lines`` (``line_input`` arrays); the softmax stays float.

    On a CPU with VNNI (AVX-512 or AVX-VNNI) the network runs about twice as fast for a few
    tenths of a point of exact lines (``scripts/ship_model.py`` writes both figures into
    the card); reading uses it with ``DIGITSCAN_LINE_PRECISION=int8``."""
    import tempfile

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ..reading.lines import LINE_HEIGHT

    class _Batches(CalibrationDataReader):
        def __init__(self) -> None:
            order = sorted(range(len(calibration_lines)), key=lambda i: calibration_lines[i].shape[1])
            self.batches = []
            for start in range(0, len(order), 16):
                chunk = [calibration_lines[i] for i in order[start: start + 16]]
                batch = np.zeros((len(chunk), 1, LINE_HEIGHT, max(c.shape[1] for c in chunk)), np.float32)
                for row, line in enumerate(chunk):
                    batch[row, 0, :, : line.shape[1]] = line
                self.batches.append({"line": batch})
            self.pending = iter(self.batches)

        def get_next(self):
            return next(self.pending, None)

    import onnx

    with tempfile.TemporaryDirectory() as scratch, atomic_path(target) as tmp:
        prepared = Path(scratch) / "prepared.onnx"
        # Batch norms folded into the convolutions first, so each is quantized once.
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        # The first convolution (the ink map in, one channel) and the last (the symbols'
        # scores out) stay float: they are a few percent of the work, and 8 bits there cost
        # most of what quantizing lost. Shipped lines-v10 on its 2,000 validation lines:
        # float 70.85% exact; every convolution 8-bit 69.65%; all but these two 70.75%
        # (2.05 -> 2.20 ms of CPU a line against float's 4.35).
        convolutions = [node.name for node in onnx.load(str(prepared)).graph.node if node.op_type == "Conv"]
        quantize_static(str(prepared), str(tmp), _Batches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv"], per_channel=True,
                        nodes_to_exclude=[convolutions[0], convolutions[-1]])


def _export(model, path: str | os.PathLike[str], example_shape: tuple[int, ...], input_name: str,
            output_name: str, dynamic_axes: dict) -> None:
    import torch

    was_training = model.training
    model.eval()
    cpu_model = model.to("cpu").to(memory_format=torch.contiguous_format)
    example = torch.zeros(*example_shape)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, but it is
        # faster, needs no extra packages and gives the same graph for plain CNNs.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            cpu_model,
            (example,),
            str(tmp),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    model.train(was_training)


def max_difference_onnx_vs_torch(model, onnx_path: str | os.PathLike[str], images: np.ndarray) -> float:
    """Largest absolute difference between PyTorch's and ONNX Runtime's logits on ``images``."""
    import torch

    from ..reading.classifier import Classifier

    model.eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(images.astype(np.float32)).unsqueeze(1)).numpy()
    got = Classifier(Path(onnx_path)).logits(images)
    return float(np.abs(expected - got).max())
