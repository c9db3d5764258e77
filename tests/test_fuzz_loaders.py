"""Hypothesis fuzzing of the loaders: mutated pictures of every format give pages or one-line
errors, never an exception, in bounded time (issue 10). Small and deadline-bound for CI."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hostile_corpus import good_files  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pictures import digit_page, encode, tiny_pdf  # noqa: E402

from digitscan.reading.imageio import decode_bytes  # noqa: E402

_PAGE = digit_page("38")
SEEDS = [data for _, data in good_files()] + [encode(_PAGE, fmt) for fmt in ("TIFF", "GIF", "WEBP", "BMP")]
SEEDS.append(tiny_pdf())
FUZZ = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _check(data: bytes) -> None:
    pages = decode_bytes(data, "fuzz", max_pages=3)
    assert 1 <= len(pages) <= 4
    for page in pages:
        assert (page.image is None) != (page.error is None)
        assert page.error is None or "\n" not in page.error


@FUZZ
@given(seed=st.sampled_from(SEEDS), edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=16),
       cut=st.none() | st.integers(0, 10**6))
def test_mutated_files_never_raise(seed: bytes, edits: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(seed)
    for at, value in edits:
        data[at % len(data)] = value
    _check(bytes(data[: cut % (len(data) + 1)] if cut is not None else data))


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check(data)
