"""Tests for nnfun.augment: shapes, purity, determinism and the geometry sign conventions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnfun.augment import affine, augment, bilinear_sample, elastic, warp
from nnfun.errors import ConfigError

FULL = {"shift": 2.0, "rotate": 15.0, "scale": 0.15, "elastic_alpha": 34.0, "elastic_sigma": 4.0}


def batch(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def blob(n: int = 1) -> np.ndarray:
    """A centred Gaussian blob of std 3 px, a stand-in for a digit well inside the frame."""
    r = np.arange(28, dtype=np.float32) - np.float32(13.5)
    img = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / np.float32(18))
    return np.repeat(img.reshape(1, 784), n, axis=0).astype(np.float32)


def dot(row: int, col: int) -> np.ndarray:
    x = np.zeros((1, 784), dtype=np.float32)
    x[0, row * 28 + col] = 1
    return x


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, rng: affine(x, rng, shift=2.0, rotate=10.0, scale=0.1),
        lambda x, rng: elastic(x, rng),
        lambda x, rng: augment(x, rng, **FULL),
    ],
)
@pytest.mark.parametrize("n", [0, 1, 5])
def test_shape_dtype_range_and_purity(fn, n: int) -> None:
    x = batch(n)
    before = x.copy()
    y = fn(x, np.random.default_rng(1))
    assert y.shape == (n, 784)
    assert y.dtype == np.float32
    assert y is not x and not np.shares_memory(x, y)
    assert np.array_equal(x, before)
    if n:
        assert y.min() >= 0 and y.max() <= 1


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(0, 6),
    rotate=st.floats(0, 180),
    scale=st.floats(0, 0.9),
    alpha=st.floats(0, 60),
    sigma=st.floats(0, 8),
)
def test_values_stay_in_unit_interval(seed, shift, rotate, scale, alpha, sigma) -> None:
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((3, 784)) < 0.5, 1, rng.random((3, 784))).astype(np.float32)
    y = augment(
        x, rng, shift=shift, rotate=rotate, scale=scale, elastic_alpha=alpha, elastic_sigma=sigma
    )
    assert y.dtype == np.float32 and y.min() >= 0 and y.max() <= 1


def test_all_zero_strengths_is_exact_copy_without_drawing() -> None:
    x = batch(4)
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    y = augment(x, rng)
    assert np.array_equal(y, x) and y is not x
    assert rng.bit_generator.state == state
    assert np.array_equal(affine(x, rng, shift=0.0), x)
    assert np.array_equal(elastic(x, rng, alpha=0.0), x)
    assert rng.bit_generator.state == state


def test_identity_warp_is_exact() -> None:
    x = batch(3)
    assert np.array_equal(warp(x), x)


def test_same_seed_same_output_different_seed_different() -> None:
    x = batch(8)
    a = augment(x, np.random.default_rng(42), **FULL)
    b = augment(x, np.random.default_rng(42), **FULL)
    c = augment(x, np.random.default_rng(43), **FULL)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_affine_and_elastic_are_augment_with_the_same_draws() -> None:
    x = batch(4)
    assert np.array_equal(
        affine(x, np.random.default_rng(5), shift=1.5, rotate=8.0),
        augment(x, np.random.default_rng(5), shift=1.5, rotate=8.0),
    )
    assert np.array_equal(
        elastic(x, np.random.default_rng(5), alpha=20.0, sigma=5.0),
        augment(x, np.random.default_rng(5), elastic_alpha=20.0, elastic_sigma=5.0),
    )


@pytest.mark.parametrize(("dr", "dc"), [(3, 0), (0, 2), (-2, 5), (4, -1)])
def test_integer_shift_moves_a_pixel_down_and_right(dr: int, dc: int) -> None:
    """Positive shift_rows moves content down, positive shift_cols moves it right."""
    y = warp(dot(10, 12), shift_rows=dr, shift_cols=dc).reshape(28, 28)
    expected = np.zeros((28, 28), dtype=np.float32)
    expected[10 + dr, 12 + dc] = 1
    assert np.array_equal(y, expected)


def test_shift_out_of_the_frame_fills_zero() -> None:
    assert not warp(dot(2, 2), shift_rows=-5.0).any()


def test_random_shift_stays_within_range() -> None:
    y = affine(np.repeat(dot(14, 14), 200, axis=0), np.random.default_rng(0), shift=2.0)
    rows, cols = np.divmod(np.arange(784), 28)
    mass = y.sum(axis=1)
    mean_row = (y @ rows.astype(np.float32)) / mass
    mean_col = (y @ cols.astype(np.float32)) / mass
    assert np.allclose(mass, 1, atol=1e-5)
    assert np.abs(mean_row - 14).max() <= 2 + 1e-4 and np.abs(mean_col - 14).max() <= 2 + 1e-4
    assert np.abs(mean_row - 14).max() > 1.5  # the range is really used


def test_rotation_by_90_degrees_matches_rot90() -> None:
    """A positive angle turns the content counter-clockwise, like np.rot90."""
    img = np.zeros((28, 28), dtype=np.float32)
    img[5:20, 8] = 1  # an asymmetric "L" with a dot
    img[19, 8:16] = 0.5
    img[7, 18] = 0.8
    x = np.stack([img, img.T]).reshape(2, 784)
    y = warp(x, angle=np.array([90.0, -90.0])).reshape(2, 28, 28)
    inner = (slice(1, 27), slice(1, 27))
    assert np.allclose(y[0][inner], np.rot90(img)[inner], atol=1e-4)
    assert np.allclose(y[1][inner], np.rot90(img.T, k=-1)[inner], atol=1e-4)


def test_scale_above_one_enlarges() -> None:
    x = blob()
    big = warp(x, scale=1.2)
    small = warp(x, scale=0.8)
    assert big.sum() > x.sum() > small.sum()


def test_small_elastic_distortion_roughly_preserves_mass() -> None:
    """Ink moves but is neither created nor lost, up to the local stretching of the field."""
    x = blob(64)
    y = elastic(x, np.random.default_rng(0), alpha=5.0, sigma=4.0)
    assert not np.array_equal(x, y)
    assert np.allclose(y.sum(axis=1), x.sum(axis=1), rtol=0.1)
    assert np.isclose(y.sum(axis=1).mean(), x.sum(axis=1).mean(), rtol=0.02)


def test_bilinear_sample_interpolates_and_zero_fills() -> None:
    images = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28)
    rows = np.array([[[0.0, 3.0, 2.5, -5.0, 27.0, 27.5]], [[1.0, 1.0, 0.25, 1.0, 30.0, 0.0]]])
    cols = np.array([[[0.0, 4.0, 6.0, 1.0, 27.0, 0.0]], [[2.0, 2.5, 3.0, -1.0, 1.0, -0.5]]])
    y = bilinear_sample(images, rows.astype(np.float32), cols.astype(np.float32))
    base = 784.0
    expected = [
        [0.0, 88.0, 2.5 * 28 + 6, 0.0, 783.0, 0.5 * (27 * 28)],
        [base + 30, base + 30.5, base + 7 + 3, 0.0, 0.0, 0.5 * base],
    ]
    assert y.shape == (2, 1, 6) and y.dtype == np.float32
    assert np.allclose(y[:, 0], expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shift": -1.0},
        {"scale": 1.0},
        {"rotate": float("nan")},
        {"elastic_alpha": float("inf")},
        {"elastic_sigma": -1.0},
    ],
)
def test_out_of_range_strengths_raise_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        augment(batch(1), np.random.default_rng(0), **kwargs)


def test_warp_rejects_non_positive_scale() -> None:
    with pytest.raises(ConfigError):
        warp(batch(2), scale=np.array([1.0, 0.0]))


def test_non_square_batch_raises() -> None:
    with pytest.raises(ValueError):
        augment(np.zeros((2, 780), dtype=np.float32), np.random.default_rng(0), shift=1.0)
