"""The compiled updates equal the NumPy reference bit for bit, and choosing between them is safe."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from typing import Any

import numpy as np
import pytest

import nnfun as nf
from nnfun import backend
from nnfun.augment import warp
from nnfun.sparse import RowSparse

pytest.importorskip("numba")

STEPS, DROP = 40, 20  # the learning rate drops tenfold at step 20

OPTIMIZERS = {
    "sgd": (nf.sgd_init, {}),
    "sgd without decay or clipping": (nf.sgd_init, {"weight_decay": 0.0, "clip": None}),
    "nesterov": (nf.sgd_init, {"nesterov": True}),
    "nesterov without clipping": (nf.sgd_init, {"nesterov": True, "clip": None}),
    "adam with l2": (nf.adam_init, {"l2": 1e-3}),
    "adam with l2 and clipping": (nf.adam_init, {"l2": 1e-3, "clip": 1.0}),
    "adamw": (nf.adam_init, {"weight_decay": 1e-2}),
    "adamw with clipping": (nf.adam_init, {"weight_decay": 1e-2, "clip": 1.0}),
}


def optimizer(name: str) -> nf.Optimizer:
    init, kwargs = OPTIMIZERS[name]
    step = nf.sgd_step if init is nf.sgd_init else nf.adam_step
    return nf.Optimizer(init, partial(step, **kwargs))


def sparse_grads(params: nf.Params, rng: np.random.Generator) -> dict[str, Any]:
    """Wide gradients (some beyond the clipping bounds); W1's as rows of a RowSparse."""
    g: dict[str, Any] = {
        k: rng.standard_normal(w.shape).astype(w.dtype) * 3 for k, w in params.items()
    }
    rows = np.flatnonzero(rng.random(len(params["W1"])) < 0.6)
    g["W1"] = RowSparse(rows, g["W1"][rows], params["W1"].shape)
    return g


def train(
    name: str,
    kernels: str,
    monkeypatch: pytest.MonkeyPatch,
    dtype: type,
    rows: bool,
    average: float = 0.0,
) -> tuple[nf.Params, nf.OptState]:
    monkeypatch.setenv(backend.VARIABLE, kernels)
    opt = optimizer(name) if not average else nf.with_average(optimizer(name), average)
    params = nf.init_params((50, 24, 10), np.random.default_rng(0), dtype)
    state = opt.init(params)
    rng = np.random.default_rng(1)
    for i in range(STEPS):
        g = sparse_grads(params, rng)
        if not rows:
            g["W1"] = g["W1"].dense()
        params, state = opt.step(params, g, state, lr=0.05 if i < DROP else 0.005)
    return params, state


def same_bits(a: nf.Params, b: nf.Params) -> bool:
    return a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)


@pytest.mark.parametrize("rows", [False, True], ids=["dense", "row-sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_compiled_updates_equal_the_numpy_reference_bit_for_bit(
    name: str, dtype: type, rows: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = train(name, "numpy", monkeypatch, dtype, rows)
    compiled = train(name, "numba", monkeypatch, dtype, rows)
    assert same_bits(reference[0], compiled[0]) and same_bits(reference[1], compiled[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["nesterov", "adamw"])
def test_the_compiled_weight_average_equals_the_numpy_reference(
    name: str, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With EMA (decay warming up to 0.9, so 1 - d takes many roundings), state and all."""
    reference = train(name, "numpy", monkeypatch, dtype, True, average=0.9)
    compiled = train(name, "numba", monkeypatch, dtype, True, average=0.9)
    assert any(k.startswith("average.") for k in compiled[1])
    assert same_bits(reference[0], compiled[0]) and same_bits(reference[1], compiled[1])


@pytest.mark.parametrize("decay", [0.0, 0.1, 0.5, 0.9, 0.999, 0.9995, 1 - 2**-30])
def test_one_average_update_equals_the_reference(
    decay: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    ema = nf.freeze({"W": rng.standard_normal((7, 5)).astype(np.float32), "b": np.ones(5)})
    params = nf.freeze({"W": rng.standard_normal((7, 5)).astype(np.float32), "b": np.zeros(5)})
    results = []
    for kernels in ("numpy", "numba"):
        monkeypatch.setenv(backend.VARIABLE, kernels)
        results.append(nf.ema_update(ema, params, decay))
    assert same_bits(*results)
    assert results[1]["W"].dtype == np.float32 and not results[1]["W"].flags.writeable


def test_the_comparison_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """One rounding done differently (momentum not rounded to float32 first) is caught."""
    reference = train("sgd", "numpy", monkeypatch, np.float32, rows=True)
    monkeypatch.setitem(OPTIMIZERS, "sgd", (nf.sgd_init, {"momentum": 0.9 + 1e-9}))
    changed = train("sgd", "numba", monkeypatch, np.float32, rows=True)
    assert same_bits(reference[0], changed[0])  # 0.9 + 1e-9 rounds to the same float32
    monkeypatch.setitem(OPTIMIZERS, "sgd", (nf.sgd_init, {"momentum": 0.9 + 1e-7}))
    changed = train("sgd", "numba", monkeypatch, np.float32, rows=True)
    assert not same_bits(reference[0], changed[0])


def test_a_row_sparse_gradient_is_its_dense_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backend.VARIABLE, "numba")
    params = nf.init_params((30, 8, 10), np.random.default_rng(2))
    g = sparse_grads(params, np.random.default_rng(3))
    full = {**g, "W1": g["W1"].dense()}
    assert np.count_nonzero(full["W1"].any(axis=1)) == len(g["W1"].rows)
    state = nf.sgd_init(params)
    a = nf.sgd_step(params, g, state, lr=0.1)
    b = nf.sgd_step(params, nf.freeze(full), state, lr=0.1)
    assert same_bits(a[0], b[0]) and same_bits(a[1], b[1])
    # Weight decay and momentum move the rows without a gradient too.
    untouched = np.setdiff1d(np.arange(30), g["W1"].rows)
    assert not np.array_equal(a[0]["W1"][untouched], params["W1"][untouched])


def test_unsorted_rows_fall_back_to_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels walk the rows in order; rows in another order still give the right answer."""
    params = nf.init_params((6, 4, 3), np.random.default_rng(4))
    values = np.ones((2, 4), dtype=np.float32)
    g = {k: np.zeros_like(w) for k, w in params.items()}
    ordered = {**g, "W1": RowSparse(np.array([1, 4]), values, (6, 4))}
    shuffled = {**g, "W1": RowSparse(np.array([4, 1]), values, (6, 4))}
    monkeypatch.setenv(backend.VARIABLE, "numba")
    a = nf.sgd_step(params, ordered, nf.sgd_init(params), lr=0.1)
    b = nf.sgd_step(params, shuffled, nf.sgd_init(params), lr=0.1)
    assert same_bits(a[0], b[0])


def test_the_compiled_path_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backend.VARIABLE, "numba")
    params = nf.init_params((30, 8, 10), np.random.default_rng(5))
    g = nf.freeze({k: np.ones_like(w) for k, w in params.items()})
    for init, step in ((nf.sgd_init, nf.sgd_step), (nf.adam_init, nf.adam_step)):
        state = init(params)
        copies = {k: a.copy() for k, a in (*params.items(), *state.items())}
        new, new_state = step(params, g, state, lr=0.1)
        assert all(np.array_equal(a, copies[k]) for k, a in (*params.items(), *state.items()))
        for a in (*new.values(), *new_state.values()):
            assert not a.flags.writeable
            assert not any(np.shares_memory(a, b) for b in (*params.values(), *state.values()))


def test_a_bad_choice_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backend.VARIABLE, "fortran")
    params = nf.init_params((4, 3), np.random.default_rng(0))
    with pytest.raises(nf.ConfigError, match="NNFUN_KERNELS must be one of auto, numba, numpy"):
        nf.sgd_step(params, params, nf.sgd_init(params), lr=0.1)


def test_numpy_means_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """With NNFUN_KERNELS=numpy no kernel runs, even where numba is importable."""

    class Refuse:
        def __getattr__(self, name: str) -> None:
            raise AssertionError(f"kernel {name} called")

    monkeypatch.setattr(backend, "_kernels", lambda: Refuse())
    params = nf.init_params((4, 3), np.random.default_rng(0))
    monkeypatch.setenv(backend.VARIABLE, "numpy")
    nf.sgd_step(params, params, nf.sgd_init(params), lr=0.1)
    nf.adam_step(params, params, nf.adam_init(params), lr=0.1)
    monkeypatch.setenv(backend.VARIABLE, "auto")
    with pytest.raises(AssertionError, match="kernel"):
        nf.sgd_step(params, params, nf.sgd_init(params), lr=0.1)


def test_numba_without_numba_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "_kernels", lambda: None)
    monkeypatch.setenv(backend.VARIABLE, "numba")
    with pytest.raises(nf.ConfigError, match=r"nnfun\[fast\]"):
        backend.kernels()
    monkeypatch.setenv(backend.VARIABLE, "auto")
    assert backend.kernels() is None  # auto falls back to NumPy quietly


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_nnfun_does_not_load_numba() -> None:
    assert run_python("import sys, nnfun; print('numba' in sys.modules)").strip() == "False"


def test_no_writable_cache_folder_only_costs_compile_time() -> None:
    """Where numba finds no folder to cache in, the kernels compile in memory and still agree."""
    out = run_python(
        "import numba.core.caching as c\n"
        "c.CacheImpl._locator_classes = []\n"  # no cache location anywhere
        "import os, numpy as np, nnfun as nf\n"
        "p = nf.init_params((20, 8, 10), np.random.default_rng(0))\n"
        "g = nf.freeze({k: np.ones_like(w) for k, w in p.items()})\n"
        "os.environ['NNFUN_KERNELS'] = 'numba'\n"
        "a = nf.sgd_step(p, g, nf.sgd_init(p), lr=0.1)[0]\n"
        "import nnfun.kernels as k\n"
        "print(k.sgd_rows._cache.__class__.__name__)\n"
        "os.environ['NNFUN_KERNELS'] = 'numpy'\n"
        "b = nf.sgd_step(p, g, nf.sgd_init(p), lr=0.1)[0]\n"
        "print(all(a[n].tobytes() == b[n].tobytes() for n in a))\n"
    )
    assert out.split() == ["NullCache", "True"]


@pytest.mark.parametrize(
    "strengths",
    [
        {"shift": 2.0, "rotate": 10.0, "scale": 0.1, "elastic_alpha": 34.0, "elastic_sigma": 6.0},
        {"shift": 3.0, "rotate": 30.0, "scale": 0.3},
        {"elastic_alpha": 80.0, "elastic_sigma": 3.0},
    ],
    ids=["best recipe", "affine", "elastic"],
)
def test_compiled_warp_equals_the_numpy_path_bit_for_bit(
    strengths: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    x = (rng.random((64, 784)) * (rng.random((64, 784)) > 0.6)).astype(np.float32)
    out = []
    for kernels in ("numpy", "numba"):
        monkeypatch.setenv(backend.VARIABLE, kernels)
        out.append(nf.augment(x, np.random.default_rng(8), **strengths))
    assert out[0].tobytes() == out[1].tobytes()
    assert not np.array_equal(out[0], x)  # something was warped


def test_warp_with_one_displacement_field_takes_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = np.random.default_rng(9).random((3, 784), dtype=np.float32)
    field = np.full((3, 28, 28), 0.5, dtype=np.float32)
    out = []
    for kernels in ("numpy", "numba"):
        monkeypatch.setenv(backend.VARIABLE, kernels)
        out.append(warp(x, disp_rows=field, angle=5.0))
    assert out[0].tobytes() == out[1].tobytes()


SPECIAL = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-310, -1e-310, 2.0, -3.0]


def hidden_layer(dtype: type, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A (67, 130) product with every special value somewhere, and a bias with them too."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((67, 130)).astype(dtype)
    b = rng.standard_normal(130).astype(dtype)
    z.flat[rng.choice(z.size, 400, replace=False)] = np.resize(np.array(SPECIAL, dtype), 400)
    b[: len(SPECIAL)] = SPECIAL
    return z, b


def numpy_bias_relu(z: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = z.copy()
    out += b
    np.maximum(out, 0, out=out)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_relu_equals_the_numpy_lines_bit_for_bit(dtype: type) -> None:
    from nnfun import kernels

    z, b = hidden_layer(dtype)
    fused = z.copy()
    kernels.bias_relu(fused, b)
    assert fused.tobytes() == numpy_bias_relu(z, b).tobytes()
    assert np.isnan(fused).any() and (fused == 0).any() and (fused > 0).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_equals_the_numpy_line_bit_for_bit(dtype: type) -> None:
    from nnfun import kernels

    delta, _ = hidden_layer(dtype, seed=1)
    a = numpy_bias_relu(*hidden_layer(dtype, seed=2))
    expected = delta.copy()
    with np.errstate(invalid="ignore"):  # inf * 0
        expected *= a > 0
    fused = delta.copy()
    kernels.relu_backward(fused, a)
    assert fused.tobytes() == expected.tobytes()
    assert np.signbit(expected[expected == 0]).any()  # -x * 0 = -0.0 is among the cases


def test_the_layer_comparison_can_fail() -> None:
    """A ReLU written as `where(r > 0, r, 0)` turns NaN into 0: the bitwise comparison sees it."""
    z, b = hidden_layer(np.float32)
    r = z + b
    assert np.where(r > 0, r, 0).tobytes() != numpy_bias_relu(z, b).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_training_step_with_compiled_layers_equals_the_reference(
    dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loss, every gradient and the logits of `forward_backward_rows`, three hidden layers,
    dropout and label smoothing: the same bits on both paths."""
    from nnfun import kernels

    params = nf.init_params((40, 64, 32, 16, 10), np.random.default_rng(3), dtype)
    rng = np.random.default_rng(4)
    x = (rng.random((50, 40)) * (rng.random((50, 40)) > 0.5)).astype(dtype)
    y = rng.integers(0, 10, 50)
    masks = nf.dropout_masks((40, 64, 32, 16, 10), 50, rng, rate=0.2, dtype=dtype)
    calls: list[str] = []
    for name in ("bias_relu", "relu_backward"):
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    out = []
    for choice in ("numpy", "numba"):
        monkeypatch.setenv(backend.VARIABLE, choice)
        loss, g, logits = nf.network.forward_backward_rows(params, x, y, masks, 0.1)
        out.append([np.asarray(loss, dtype=np.float64), logits, *(g[k] for k in params)])
    assert calls.count("bias_relu") == 3 and calls.count("relu_backward") == 3
    for ref, fast in zip(*out, strict=True):
        assert ref.tobytes() == fast.tobytes()
