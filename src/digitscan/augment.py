"""Batch augmentation on tensors, so the network learns what real paper does to digits.

MNIST digits are clean, centred and of one pen width; scanned and photographed digits are
slanted, thicker or thinner, blurred and noisy. Each transform here works on a whole batch
(N, 1, 28, 28) at once: per-image Python loops would cost more than the training step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .normalise import normalise_like_mnist, unstretch

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
    # A smooth random warp (Simard et al. 2003): loops open and close, tails curl, strokes
    # bend, as they do between writers; an affine map alone cannot do that.
    elastic_probability: float = 0.0
    elastic_px: float = 1.2  # typical displacement, in pixels, of the warp's control points
    # Fit the distorted digit's ink box to 20 pixels and centre it by mass, as the reader
    # does to every digit it reads, so that training sees what reading will show the network.
    refit: bool = False
    # MNIST's writers were American: their 1 is a bare stroke. Much of the world writes it
    # with a flag at the top and often a foot; without examples of those, the network reads
    # such a 1 as a 7 or a 4. This draws them onto some of the 1s.
    flag_probability: float = 0.0
    foot_probability: float = 0.0
    # Share of training images swapped for their low-resolution scan (``scanned_copies``).
    scan_probability: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def augment_batch(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator,
                  labels: torch.Tensor | None = None) -> torch.Tensor:
    """A randomly distorted copy of ``images`` (N, 1, 28, 28) in [0, 1]; ``labels`` (N,)
    enable the transforms that depend on the digit (the flags and feet of 1s)."""
    n = images.shape[0]
    device = images.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator, device="cpu").to(device) * (high - low) + low

    def chosen(probability: float) -> torch.Tensor:
        mask = torch.rand(n, generator=generator, device="cpu") < probability
        return mask.to(device).view(n, 1, 1, 1)

    if labels is not None and (config.flag_probability > 0 or config.foot_probability > 0):
        ones = (labels == 1).view(n, 1, 1, 1)
        images = _flag_and_foot(images, ones & chosen(config.flag_probability),
                                ones & chosen(config.foot_probability), uniform)

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
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if config.elastic_probability > 0:
        # Displacements drawn at 4x4 control points and upsampled smoothly to the full field.
        control = torch.randn((n, 2, 4, 4), generator=generator, device="cpu").to(device)
        control = control * (config.elastic_px / 14) * chosen(config.elastic_probability)
        field = F.interpolate(control, size=images.shape[-2:], mode="bicubic", align_corners=True)
        grid = grid + field.permute(0, 2, 3, 1)
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
        kernel = torch.tensor([1.0, 2.0, 1.0], device=device)
        kernel = (kernel[:, None] * kernel[None, :]) / 16
        blurred = F.conv2d(out, kernel.view(1, 1, 3, 3), padding=1)
        out = torch.where(chosen(config.blur_probability), blurred, out)

    if config.refit:
        out = _refit(out, uniform(0.95, 1.05), uniform(-0.7, 0.7) / 14, uniform(-0.7, 0.7) / 14)

    if config.noise_probability > 0:
        noise = torch.randn(out.shape, generator=generator, device="cpu").to(device)
        noisy = out + noise * config.noise_std
        out = torch.where(chosen(config.noise_probability), noisy, out)

    if config.binarise_probability > 0:
        level = uniform(0.25, 0.6).view(n, 1, 1, 1)
        binary = (out > level).to(out.dtype)
        out = torch.where(chosen(config.binarise_probability), binary, out)

    return out.clamp_(0.0, 1.0)


def scanned_copies(images: np.ndarray, seed: int) -> np.ndarray:
    """Each digit (N, 28, 28) uint8, white on black, as a low-resolution black-and-white
    scan of it would reach the network after the reader's own normalisation.

    Form readers and old scanners keep digits 12 to 32 pixels tall, thresholded to two
    levels and often stretched to fill their box; scaled back up to 20 pixels such digits
    are blocky, with steps along every slope, unlike anything in MNIST. This is per image
    (it runs the reader's normalisation, which is numpy and OpenCV), so a run computes it
    once before training, about 10 s for 60,000 digits.
    """
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


def _flag_and_foot(images: torch.Tensor, flag: torch.Tensor, foot: torch.Tensor,
                   uniform: Callable[[float, float], torch.Tensor]) -> torch.Tensor:
    """Strokes drawn onto the 1s picked by ``flag`` and ``foot`` (N, 1, 1, 1 booleans): a
    flag from the top of the stroke down to the left, a foot across its bottom."""
    n, _, height, width = images.shape
    ink = images[:, 0] > 0.5
    rows = ink.any(dim=2)
    index_y = torch.arange(height, device=images.device, dtype=images.dtype)
    index_x = torch.arange(width, device=images.device, dtype=images.dtype)
    top = torch.where(rows, index_y, float(height)).amin(dim=1)
    bottom = torch.where(rows, index_y, -1.0).amax(dim=1)
    tall = (bottom - top).clamp_min(1.0)

    def centre_x_of_row(row: torch.Tensor) -> torch.Tensor:
        line = ink[torch.arange(n, device=images.device), row.long().clamp(0, height - 1)].to(images.dtype)
        return (line * index_x).sum(dim=1) / line.sum(dim=1).clamp_min(1.0)

    top_x, bottom_x = centre_x_of_row(top), centre_x_of_row(bottom)
    # The flag: 25-50% of the height long, 20-60 degrees below the horizontal.
    length = tall * uniform(0.25, 0.5)
    angle = uniform(20.0, 60.0) * math.pi / 180
    flag_end_x, flag_end_y = top_x - length * torch.cos(angle), top + length * torch.sin(angle)
    # The foot: 35-70% of the height wide, centred on the bottom of the stroke.
    half = tall * uniform(0.17, 0.35)
    shift = half * uniform(-0.3, 0.3)
    pen = uniform(1.6, 2.6)
    drawn = torch.maximum(
        _segment(top_x, top, flag_end_x, flag_end_y, pen, height, width) * flag.view(n, 1, 1),
        _segment(bottom_x - half + shift, bottom, bottom_x + half + shift, bottom, pen, height, width)
        * foot.view(n, 1, 1),
    )
    return torch.maximum(images, drawn[:, None])


def _segment(x0: torch.Tensor, y0: torch.Tensor, x1: torch.Tensor, y1: torch.Tensor, pen: torch.Tensor,
             height: int, width: int) -> torch.Tensor:
    """(N, H, W) anti-aliased strokes of width ``pen`` from (x0, y0) to (x1, y1), one per image."""
    ys = torch.arange(height, dtype=x0.dtype, device=x0.device).view(1, height, 1)
    xs = torch.arange(width, dtype=x0.dtype, device=x0.device).view(1, 1, width)
    x0, y0, x1, y1 = (v.view(-1, 1, 1) for v in (x0, y0, x1, y1))
    dx, dy = x1 - x0, y1 - y0
    along = (((xs - x0) * dx + (ys - y0) * dy) / (dx * dx + dy * dy).clamp_min(1e-6)).clamp(0.0, 1.0)
    distance = torch.hypot(xs - (x0 + along * dx), ys - (y0 + along * dy))
    return (pen.view(-1, 1, 1) / 2 + 0.5 - distance).clamp(0.0, 1.0)


def _refit(images: torch.Tensor, jitter_scale: torch.Tensor, jitter_x: torch.Tensor,
           jitter_y: torch.Tensor) -> torch.Tensor:
    """Each image's ink box scaled to fit 20x20 and its centre of mass put at the centre,
    as ``normalise.normalise_like_mnist`` does, with a little jitter in scale and place."""
    n, _, height, width = images.shape
    peak = images.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    ink = images[:, 0] > 0.15 * peak[:, 0]
    rows, cols = ink.any(dim=2), ink.any(dim=1)
    index_y = torch.arange(height, device=images.device)
    index_x = torch.arange(width, device=images.device)
    top = torch.where(rows, index_y, height).amin(dim=1)
    bottom = torch.where(rows, index_y, -1).amax(dim=1)
    left = torch.where(cols, index_x, width).amin(dim=1)
    right = torch.where(cols, index_x, -1).amax(dim=1)
    side = torch.maximum(bottom - top + 1, right - left + 1).clamp_min(1).to(images.dtype)
    scale = (20.0 / side) * jitter_scale
    mass = images[:, 0].sum(dim=(1, 2)).clamp_min(1e-6)
    centre_y = (images[:, 0].sum(dim=2) * index_y).sum(dim=1) / mass
    centre_x = (images[:, 0].sum(dim=1) * index_x).sum(dim=1) / mass
    # affine_grid works in [-1, 1] with pixel centres at (i + 0.5) / 14 - 1 (28 pixels).
    to_unit_y, to_unit_x = 2.0 / height, 2.0 / width
    zero = torch.zeros_like(scale)
    theta = torch.stack(
        [
            torch.stack([1 / scale, zero, (centre_x + 0.5) * to_unit_x - 1 + jitter_x / scale], dim=1),
            torch.stack([zero, 1 / scale, (centre_y + 0.5) * to_unit_y - 1 + jitter_y / scale], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    refitted = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    has_ink = (bottom >= top).view(n, 1, 1, 1)
    return torch.where(has_ink, refitted, images)


def _max_3x3(images: torch.Tensor) -> torch.Tensor:
    """The same values as ``max_pool2d(images, 3, stride=1, padding=1)``, computed as two
    separable passes of shifted maxima: measured 7x faster on a CPU for one-channel batches."""
    fill = float("-inf")
    wide = F.pad(images, (1, 1, 0, 0), value=fill)
    rows = torch.maximum(torch.maximum(wide[..., :-2], wide[..., 1:-1]), wide[..., 2:])
    tall = F.pad(rows, (0, 0, 1, 1), value=fill)
    return torch.maximum(torch.maximum(tall[..., :-2, :], tall[..., 1:-1, :]), tall[..., 2:, :])
