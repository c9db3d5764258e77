"""Batch augmentation on tensors, so the network learns what real paper does to digits.

MNIST digits are clean, centred and of one pen width; scanned and photographed digits are
slanted, thicker or thinner, blurred and noisy. Each transform here works on a whole batch
(N, 1, 28, 28) at once: per-image Python loops would cost more than the training step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..reading.normalise import normalise_like_mnist, unstretch

__all__ = ["AugmentConfig", "augment_batch", "scanned_copies"]


@dataclass(frozen=True)
class AugmentConfig:
    """How strong each transform is; ``probability`` is per image and per transform."""

    rotation_deg: float = 12.0
    scale: tuple[float, float] = (0.85, 1.1)
    aspect: tuple[float, float] = (0.65, 1.5)  # width / height: narrow and wide handwriting
    shear: float = 0.2
    shift_px: float = 2.0
    stroke_probability: float = 0.3  # half thicken, half thin the strokes
    blur_probability: float = 0.15
    noise_probability: float = 0.15
    noise_std: float = 0.08
    binarise_probability: float = 0.15  # hard thresholds, like bitmap scans and fax-like forms
    # Share of training images swapped for their low-resolution scan (``scanned_copies``).
    scan_probability: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


def augment_batch(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """A randomly distorted copy of ``images`` (N, 1, 28, 28) in [0, 1]."""
    n = images.shape[0]
    device = images.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator, device="cpu").to(device) * (high - low) + low

    def chosen(probability: float) -> torch.Tensor:
        mask = torch.rand(n, generator=generator, device="cpu") < probability
        return mask.to(device).view(n, 1, 1, 1)

    # One affine map per image: rotation, scale, aspect (writers differ in how wide they
    # write), shear, shift. affine_grid maps output to input coordinates in [-1, 1], so the
    # matrix is the inverse of the distortion, and a shift of k pixels is k / 14.
    angle = uniform(-config.rotation_deg, config.rotation_deg) * math.pi / 180
    scale = uniform(*config.scale)
    aspect = torch.exp(uniform(math.log(config.aspect[0]), math.log(config.aspect[1])))
    scale_x, scale_y = scale * torch.sqrt(aspect), scale / torch.sqrt(aspect)
    shear = uniform(-config.shear, config.shear)
    shift_x = uniform(-config.shift_px, config.shift_px) / 14
    shift_y = uniform(-config.shift_px, config.shift_px) / 14
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos / scale_x, (-sin + shear * cos) / scale_x, shift_x], dim=1),
            torch.stack([sin / scale_y, (cos + shear * sin) / scale_y, shift_y], dim=1),
        ],
        dim=1,
    )
    grid = _affine_grid(theta, images.shape[-2], images.shape[-1])
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Stroke width: a 3x3 max-pool thickens (dilation), a min-pool thins (erosion) — real
    # pens range from fine liners to markers.
    if config.stroke_probability > 0:
        thick = _max_3x3(out)
        thin = -_max_3x3(-out)
        thin = torch.maximum(thin, out * 0.6)  # never erase a thin stroke completely
        pick = chosen(config.stroke_probability)
        thicken = chosen(0.5)
        out = torch.where(pick & thicken, thick, torch.where(pick & ~thicken, thin, out))

    if config.blur_probability > 0:
        out = torch.where(chosen(config.blur_probability), _blur_3x3(out), out)

    if config.noise_probability > 0:
        noise = torch.randn(out.shape, generator=generator, device="cpu").to(device)
        noisy = out + noise * config.noise_std
        out = torch.where(chosen(config.noise_probability), noisy, out)

    if config.binarise_probability > 0:
        level = uniform(0.25, 0.6).view(n, 1, 1, 1)
        binary = (out > level).to(out.dtype)
        out = torch.where(chosen(config.binarise_probability), binary, out)

    return out.clamp_(0.0, 1.0)


_SCAN_CHUNK = 5000  # digits per chunk of scanned_copies, each chunk with its own seed


def scanned_copies(images: np.ndarray, seed: int, workers: int = 1) -> np.ndarray:
    """Each digit (N, 28, 28) uint8, white on black, as a low-resolution black-and-white
    scan of it would reach the network after the reader's own normalisation.

    Form readers and old scanners keep digits 12 to 32 pixels tall, thresholded to two
    levels and often stretched to fill their box; scaled back up to 20 pixels such digits
    are blocky, with steps along every slope, unlike anything in MNIST. This is per image
    (it runs the reader's normalisation, which is numpy and OpenCV), so a run computes it
    once before training, about 10 s for 60,000 digits on one core, spread over ``workers``
    processes in chunks seeded from ``seed``: the same copies however many workers.
    """
    chunks = [(images[start: start + _SCAN_CHUNK], seed * 7919 + start // _SCAN_CHUNK)
              for start in range(0, len(images), _SCAN_CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        return np.concatenate([_scanned_chunk(chunk) for chunk in chunks]) if chunks else images.copy()
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(workers, len(chunks))) as pool:
        return np.concatenate(list(pool.map(_scanned_chunk, chunks)))


def _scanned_chunk(job: tuple[np.ndarray, int]) -> np.ndarray:
    images, seed = job
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for index, digit in enumerate(images):
        rows = np.flatnonzero(digit.max(axis=1) > 40)
        cols = np.flatnonzero(digit.max(axis=0) > 40)
        if rows.size == 0 or cols.size == 0:
            out[index] = digit
            continue
        ink = digit[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1].astype(np.float32) / 255.0
        height, width = ink.shape
        side = int(rng.integers(12, 33))
        if rng.random() < 0.35:  # stretched to fill a square box, as Semeion and some forms do
            size = (side, side)
        else:
            scale = side / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
        binary = (small > rng.uniform(0.25, 0.6)).astype(np.float32)
        if rng.random() < 0.25:  # a broad pen
            binary = cv2.dilate(binary, np.ones((2, 2), np.uint8))
        if not binary.any():
            out[index] = digit
            continue
        crop = unstretch(binary) if size[0] == size[1] else binary
        out[index] = np.round(normalise_like_mnist(crop) * 255.0).astype(np.uint8)
    return out


def _affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (N, 1, height, width), align_corners=False)`` by broadcasting:
    the same grid (to 5e-7), 0.1 ms for a batch of 128 digits where affine_grid's batched
    matrix product of 784 x 3 by 3 x 2 took 0.9 ms, a twentieth of a training step."""
    xs = (torch.arange(width, dtype=theta.dtype, device=theta.device) * 2 + 1) / width - 1
    ys = (torch.arange(height, dtype=theta.dtype, device=theta.device) * 2 + 1) / height - 1
    rows = theta[:, :, :, None, None]  # (N, 2, 3, 1, 1): x' and y' as a x + b y + c
    grid = rows[:, :, 0] * xs + rows[:, :, 1] * ys[:, None] + rows[:, :, 2]
    return grid.permute(0, 2, 3, 1)  # (N, height, width, 2)


def _blur_3x3(images: torch.Tensor) -> torch.Tensor:
    """A 3x3 binomial blur ([1 2 1] x [1 2 1] / 16, zero padding) as two separable passes:
    the same values as the 3x3 convolution, 0.12 ms for 128 digits against 0.33 ms."""
    padded = F.pad(images, (1, 1, 1, 1))
    rows = padded[..., :-2] + 2 * padded[..., 1:-1] + padded[..., 2:]
    return (rows[..., :-2, :] + 2 * rows[..., 1:-1, :] + rows[..., 2:, :]) / 16


def _max_3x3(images: torch.Tensor) -> torch.Tensor:
    """The same values as ``max_pool2d(images, 3, stride=1, padding=1)``, computed as two
    separable passes of shifted maxima: measured 7x faster on a CPU for one-channel batches."""
    fill = float("-inf")
    wide = F.pad(images, (1, 1, 0, 0), value=fill)
    rows = torch.maximum(torch.maximum(wide[..., :-2], wide[..., 1:-1]), wide[..., 2:])
    tall = F.pad(rows, (0, 0, 1, 1), value=fill)
    return torch.maximum(torch.maximum(tall[..., :-2, :], tall[..., 1:-1, :]), tall[..., 2:, :])
