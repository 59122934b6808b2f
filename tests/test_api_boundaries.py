"""Every public function checks what it is given: a bad argument is refused by name, never garbage.

Hypothesis takes each function of `nnfun.__all__` with good arguments, spoils one of them with a
value from a pool of usual mistakes (wrong type, NaN, negative, zero, wrong shape, one-hot labels,
0..255 floats, a raw chain for an optimizer, a dict for an augmentation...) and calls it. The call
must either give a finite answer or raise NnfunError / TypeError / ValueError whose message names
the spoiled argument: never IndexError, ZeroDivisionError, AttributeError, KeyError, NaN out.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnfun as nf

RNG = nf.rng_for(0)
PARAMS = nf.init_params((36, 8, 10), nf.rng_for(1))
DIGITS = nf.init_params((784, 8, 10), nf.rng_for(2))
X = nf.rng_for(3).integers(0, 256, (20, 36), dtype=np.uint8)
XF = X / np.float32(255)
Y = np.arange(20) % 10
LOGITS = nf.rng_for(4).standard_normal((20, 10))
SGD = nf.Optimizer(nf.sgd_init, nf.sgd_step)
STATE = nf.TrainState(0, PARAMS, nf.sgd_init(PARAMS))


def _tmp_model() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp()) / "m.npz"


def _fit(**kw: Any) -> Any:
    return next(nf.fit(**kw)).params


def _train_epoch(**kw: Any) -> Any:
    return nf.train_epoch(**kw)[2]


def _schedule(make: Callable[..., Any]) -> Callable[..., Any]:
    """A schedule maker, then the rates it gives over its epochs."""
    return lambda **kw: [make(**kw)(t) for t in (0, 0.5, 1, 2.5, 10)]


def _transform(make: Callable[..., Any]) -> Callable[..., Any]:
    """A transformation maker, then one update of PARAMS through it."""

    def run(**kw: Any) -> Any:
        t = make(**kw)
        return nf.as_optimizer(t).step(PARAMS, PARAMS, t.init(PARAMS), lr=0.1)[0]

    return run


def _first(make: Callable[..., Any]) -> Callable[..., Any]:
    return lambda **kw: list(make(**kw))


# name: (callable taking keywords, good keywords). Names not in nnfun.__all__ are wrappers.
CALLS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "accuracy": (nf.accuracy, {"predicted": Y, "labels": Y}),
    "adam_init": (nf.adam_init, {"params": PARAMS}),
    "adam_step": (
        nf.adam_step,
        {"params": PARAMS, "grads": PARAMS, "state": nf.adam_init(PARAMS), "lr": 0.01},
    ),
    "add_decayed_weights": (_transform(nf.add_decayed_weights), {"weight_decay": 1e-4}),
    "apply_updates": (nf.apply_updates, {"params": PARAMS, "updates": PARAMS}),
    "as_optimizer": (
        lambda transform: nf.as_optimizer(transform).init(PARAMS),
        {"transform": nf.chain()},
    ),
    "as_rows": (nf.as_rows, {"params": PARAMS, "images": X}),
    "augment": (nf.augment, {"x": XF, "rng": RNG, "shift": 1.0, "rotate": 5.0}),
    "Augmentation": (nf.Augmentation, {"shift": 1.0, "elastic_alpha": 1.0}),
    "Regularisation": (
        nf.Regularisation,
        {
            "augmentation": nf.Augmentation(shift=1.0),
            "dropout": 0.1,
            "input_dropout": 0.1,
            "label_smoothing": 0.1,
        },
    ),
    "batches": (_first(nf.batches), {"x": X, "y": Y, "batch_size": 7}),
    "cast": (nf.cast, {"params": PARAMS, "dtype": np.float64}),
    "check_fits": (nf.check_fits, {"model": PARAMS, "inputs": 36, "classes": 10}),
    "clip": (_transform(nf.clip), {"max_abs": 1.0}),
    "clip_by_global_norm": (_transform(nf.clip_by_global_norm), {"max_norm": 1.0}),
    "confusion_matrix": (nf.confusion_matrix, {"labels": Y, "predicted": Y, "classes": 10}),
    "constant": (_schedule(nf.constant), {"lr": 0.1}),
    "cosine": (_schedule(nf.cosine), {"lr": 0.1, "epochs": 5, "final_lr": 0.0}),
    "cross_entropy": (nf.cross_entropy, {"logits": LOGITS, "labels": Y, "smoothing": 0.1}),
    "dropout_masks": (
        nf.dropout_masks,
        {"sizes": (36, 8, 10), "n": 4, "rng": RNG, "rate": 0.5, "input_rate": 0.2},
    ),
    "evaluate": (nf.evaluate, {"model": PARAMS, "x": X, "y": Y, "batch_size": 7}),
    "final_params": (nf.final_params, {"state": STATE}),
    "fit": (
        _fit,
        {
            "start": PARAMS,
            "x": X,
            "y": Y,
            "x_val": X[:5],
            "y_val": Y[:5],
            "optimizer": SGD,
            "schedule": nf.constant(0.01),
            "epochs": 1,
            "batch_size": 8,
            "seed": 0,
            "regularisation": nf.Regularisation(dropout=0.1),
            "stop_diverged": False,
        },
    ),
    "forward": (nf.forward, {"params": PARAMS, "x": XF}),
    "forward_backward": (nf.forward_backward, {"params": PARAMS, "x": XF, "y": Y}),
    "freeze": (nf.freeze, {"arrays": {"W1": np.zeros((2, 2))}}),
    "global_norm": (nf.global_norm, {"arrays": PARAMS}),
    "grads": (nf.grads, {"params": PARAMS, "x": XF, "y": Y, "label_smoothing": 0.0}),
    "has_ink": (nf.has_ink, {"image": X[0].reshape(6, 6)}),
    "init_params": (nf.init_params, {"sizes": (4, 3), "rng": RNG, "dtype": np.float32}),
    "is_weight": (nf.is_weight, {"name": "W1"}),
    "layer_sizes": (nf.layer_sizes, {"params": PARAMS}),
    "log_softmax": (nf.log_softmax, {"logits": LOGITS}),
    "num_batches": (nf.num_batches, {"n": 100, "batch_size": 7}),
    "num_layers": (nf.num_layers, {"params": PARAMS}),
    "one_cycle": (_schedule(nf.one_cycle), {"max_lr": 0.1, "epochs": 5, "peak": 0.3}),
    "per_class_accuracy": (nf.per_class_accuracy, {"matrix": np.eye(10, dtype=int)}),
    "predict": (nf.predict, {"model": PARAMS, "images": X}),
    "predict_proba": (nf.predict_proba, {"model": PARAMS, "images": X, "batch_size": 7}),
    "scale_by_learning_rate": (_transform(nf.scale_by_learning_rate), {}),
    "read_digit": (nf.read_digit, {"model": DIGITS, "picture": np.eye(28), "raw": False}),
    "relative_error": (nf.relative_error, {"analytic": LOGITS, "numeric": LOGITS}),
    "rng_for": (nf.rng_for, {"seed": 3}),
    "save_model": (nf.save_model, {"path": "TMP", "params": PARAMS}),
    "export_onnx": (nf.export_onnx, {"params": PARAMS, "path": "TMP.onnx"}),
    "scale_by_adam": (_transform(nf.scale_by_adam), {"beta1": 0.9, "beta2": 0.99, "eps": 1e-8}),
    "scale_pixels": (nf.scale_pixels, {"images": X}),
    "sgd_init": (nf.sgd_init, {"params": PARAMS}),
    "sgd_step": (
        nf.sgd_step,
        {"params": PARAMS, "grads": PARAMS, "state": nf.sgd_init(PARAMS), "lr": 0.1},
    ),
    "shuffle": (nf.shuffle, {"x": X, "y": Y, "rng": RNG}),
    "softmax": (nf.softmax, {"logits": LOGITS}),
    "softmax_cross_entropy": (nf.softmax_cross_entropy, {"logits": LOGITS, "labels": Y}),
    "split_validation": (nf.split_validation, {"x": X, "y": Y, "size": 5, "rng": RNG}),
    "stateless": (_transform(nf.stateless), {"fn": lambda u, w, lr: dict(u)}),
    "step_decay": (_schedule(nf.step_decay), {"lr": 0.1, "milestones": (1, 2), "gamma": 0.1}),
    "to_grey": (nf.to_grey, {"image": X[0].reshape(6, 6)}),
    "to_mnist": (nf.to_mnist, {"image": np.eye(28)}),
    "trace": (_transform(nf.trace), {"momentum": 0.9}),
    "train_epoch": (
        _train_epoch,
        {
            "params": PARAMS,
            "opt_state": nf.sgd_init(PARAMS),
            "x": X,
            "y": Y,
            "optimizer": SGD,
            "schedule": nf.constant(0.01),
            "batch_size": 8,
            "epoch": 0,
            "rng": RNG,
        },
    ),
    "average_of": (nf.average_of, {"state": nf.sgd_init(PARAMS)}),
    "ema_decay_at": (nf.ema_decay_at, {"decay": 0.99, "step": 3}),
    "ema_init": (nf.ema_init, {"params": PARAMS}),
    "ema_update": (nf.ema_update, {"ema": PARAMS, "params": PARAMS, "decay": 0.9}),
    "with_average": (
        lambda optimizer, decay: nf.with_average(optimizer, decay).step(
            PARAMS, PARAMS, nf.with_average(SGD, 0.9).init(PARAMS), lr=0.1
        ),
        {"optimizer": SGD, "decay": 0.9},
    ),
    "warmup": (_schedule(nf.warmup), {"schedule": nf.constant(0.1), "epochs": 2, "start": 0.01}),
}

NAN = float("nan")
BAD: list[Any] = [
    None, -1, 0, 1, 2**70, -0.5, 0.5, 1.5, 3, NAN, math.inf, -math.inf, True, "x", "", b"x",
    [], {}, (), object(), np.float64(NAN), np.int64(-3),
    np.array([]), np.array([[NAN]]), np.zeros((3, 0)), np.zeros((2, 2, 2, 2)), np.array(["a", "b"]),
    np.full_like(X, NAN, dtype=np.float32), X.astype(np.float64), X.astype(np.int64),
    X.astype(np.int64) * 2, -XF, X[:, :20], X[:3], X.reshape(20, 6, 6), np.zeros((20, 0, 0)),
    -(Y + 1), Y.reshape(-1, 1), np.eye(10)[Y], Y + 10, Y[:7], Y.astype(np.float64),
    LOGITS[:, :3], np.full_like(LOGITS, NAN), np.zeros((0, 10)),
    {"W1": np.zeros((36, 8))}, {"W1": np.zeros((36, 8), int), "b1": np.zeros(8, int)},
    {"W1": np.full((36, 10), NAN), "b1": np.zeros(10)}, {"W1": np.zeros((36, 10), object), "b1": np.zeros(10)},
    {"W1": np.zeros((36, 8)), "b1": np.zeros(8), "W2": np.zeros((7, 10)), "b2": np.zeros(10)},
    {"weights": np.zeros((36, 10)), "b1": np.zeros(10)}, {"shift": 2},
    nf.chain(nf.trace(0.9)), nf.as_optimizer(nf.chain(nf.trace(0.9))), nf.Optimizer(1, 2),
    lambda t: -0.1, lambda t: NAN, lambda t: "fast", lambda *a, **k: 1 / 0,
]  # fmt: skip
ALIASES = {
    "arrays": ("freeze",),
    "picture": ("image",),
    "inputs": ("pixels",),
    "y": ("labels",),
    "opt_state": ("state",),
    "transform": ("transformation",),
    "classes": ("labels",),
    "logits": ("classes",),
}
"""Extra words a message may name an argument by."""


STRICT = {"predict", "predict_proba", "evaluate", "as_rows", "fit", "train_epoch", "read_digit"}
"""Functions of pixels and trained networks, which refuse NaN; the others are plain maths, where
NaN in gives NaN out (but a step's NaN setting is refused: see test_step_scalars.py)."""


def _mentions(message: str, name: str) -> bool:
    return any(word in message for word in (name, *ALIASES.get(name, ())))


def _finite(value: Any) -> bool:
    """No NaN or infinity anywhere in an answer (arrays, numbers, mappings, tuples)."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.isfinite(value).all())
    if isinstance(value, float | np.floating):
        return math.isfinite(value)
    if isinstance(value, dict) or hasattr(value, "values") and callable(value.values):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return True


def _in(tmp: Path, value: Any) -> Any:
    """`"TMP"` and `"TMP.onnx"` stand for a file in the test's own folder."""
    if isinstance(value, str) and value.startswith("TMP"):
        return str(tmp / ("m" + (value[3:] or ".npz")))
    return value


def outcome(name: str, arg: str, value: Any, tmp: Path) -> str | None:
    """What is wrong with how `name` took `value` for `arg` (None if it held)."""
    call, good = CALLS[name]
    kwargs = {k: _in(tmp, v) for k, v in good.items()}
    kwargs[arg] = value
    try:
        with np.errstate(all="ignore"), contextlib.chdir(tmp):  # a relative path lands in tmp
            result = call(**kwargs)
    except nf.NnfunError as exc:
        err: Exception = exc
    except (TypeError, ValueError) as exc:
        err = exc
    except Exception as exc:
        return f"{name}({arg}={value!r:.60}) raised {type(exc).__name__}: {exc}"
    else:
        if not _finite(result) and (name in STRICT or _finite(value)):
            return f"{name}({arg}={value!r:.60}) returned NaN or infinity"
        return None
    if len(str(err).splitlines()) > 1 or not _mentions(str(err), arg):
        return f"{name}({arg}={value!r:.60}): {type(err).__name__} does not name {arg}: {err}"
    return None


CASES = [(name, arg) for name, (_, good) in CALLS.items() for arg in good]


def test_every_public_function_is_covered() -> None:
    own = {"Augmentation"} | set(CALLS)
    skipped = {  # types, errors, modules; file readers and the recipe have their own tests
        "Config", "ConfigError", "DataError", "DivergedError", "EpochRecord",
        "GradientTransformation", "ModelError", "NnfunError", "OptState", "Optimizer", "Params",
        "Reading", "Schedule", "TrainState", "recipe", "recipes", "Model", "samples", "load_dataset", "load_model",
        "read_image", "chain", "masked", "gradcheck", "numerical_grads",
    }  # fmt: skip
    assert set(nf.__all__) - skipped <= own, set(nf.__all__) - skipped - own


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), value=st.sampled_from(BAD))
def test_a_spoiled_argument_is_refused_by_name(
    case: tuple[str, str], value: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    problem = outcome(*case, value, tmp_path_factory.mktemp("api", numbered=True))
    assert problem is None, problem


@pytest.mark.parametrize("name, arg", CASES)
def test_every_argument_against_every_mistake(name: str, arg: str, tmp_path: Path) -> None:
    """The exhaustive sweep of the same property (a few thousand calls, all fast)."""
    problems = [p for v in BAD if (p := outcome(name, arg, v, tmp_path))]
    assert not problems, "\n".join(problems[:10])


# --------------------------------------------------------------------------- the listed members


def test_pixel_scale_follows_the_values_not_the_type() -> None:
    """The same image as uint8, int64 or float in [0, 1] reads the same; 0..255 floats are refused."""
    expected = nf.predict_proba(PARAMS, X)
    for same in (X.astype(np.int64), X.astype(np.int32), X / 255.0):
        assert np.allclose(nf.predict_proba(PARAMS, same), expected, atol=1e-5)
    assert np.isclose(nf.evaluate(PARAMS, X.astype(np.int64), Y)[0], nf.evaluate(PARAMS, X, Y)[0])
    for wrong in (X.astype(np.float64), X.astype(np.int64) + 1000, -XF):
        with pytest.raises(nf.DataError, match="pixels"):
            nf.predict_proba(PARAMS, wrong)
        with pytest.raises(nf.DataError, match="pixels"):
            nf.evaluate(PARAMS, wrong, Y)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"images": np.full((1, 36), np.nan)}, "NaN"),
        ({"batch_size": -1}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_predict_refuses_what_it_cannot_read(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(nf.NnfunError, match=needle):
        nf.predict_proba(PARAMS, **({"images": X} | kwargs))


FIT = CALLS["fit"][1]


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"y": Y - 1}, "label -1"),
        ({"y": Y.reshape(-1, 1)}, r"shape \(n,\)"),
        ({"y": np.eye(10, dtype=np.int64)[Y]}, "one-hot"),
        ({"y": Y[:-1]}, "19 labels for the 20 images"),
        ({"y_val": Y[:5] + 10}, "y_val holds the label 1[0-4]"),
        ({"schedule": lambda t: -0.1}, "learning rate"),
        ({"schedule": lambda t: float("nan")}, "learning rate"),
        ({"schedule": nf.warmup(lambda t: 0.1 - t, 1)}, "learning rate"),
        ({"optimizer": nf.chain(nf.trace(0.9))}, "as_optimizer"),
        ({"optimizer": nf.as_optimizer(nf.chain(nf.trace(0.9)))}, "scale_by_learning_rate"),
        (
            {
                "optimizer": nf.as_optimizer(
                    nf.stateless(lambda u, w, lr: {k: -g for k, g in u.items()})
                )
            },
            "ignores the learning rate",
        ),  # fmt: skip
        ({"regularisation": {"dropout": 0.1}}, r"Regularisation\(dropout="),
        ({"regularisation": nf.Augmentation(shift=2)}, "regularisation must be a Regularisation"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_fit_refuses_before_training(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(nf.NnfunError, match=needle):
        for _ in nf.fit(**(FIT | {"epochs": 3} | change)):
            pass


@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: nf.cosine(0.1, 0), "epochs"),
        (lambda: nf.one_cycle(0.1, 0), "epochs"),
        (lambda: nf.num_batches(100, 0), "batch_size"),
        (lambda: nf.dropout_masks((36, 8, 10), 4, RNG, rate=1), "rate"),
        (lambda: nf.confusion_matrix(Y, np.full(20, 12)), "label 12"),
        (lambda: nf.confusion_matrix(np.full(20, 12), Y), "label 12"),
    ],
)
def test_no_division_by_zero_or_reshape_errors(call: Callable[[], Any], needle: str) -> None:
    with pytest.raises(nf.NnfunError, match=needle):
        call()


@pytest.mark.parametrize(
    "params",
    [
        {**PARAMS, "W1": np.full((36, 8), np.nan, dtype=np.float32)},
        {k: v.astype(np.int64) for k, v in PARAMS.items()},
        {"weights": PARAMS["W1"], "b1": PARAMS["b1"]},
        {**PARAMS, "W2": np.zeros((7, 10), dtype=np.float32)},
        {**PARAMS, "b2": np.zeros(10, dtype=object)},
    ],
)
def test_save_model_refuses_what_load_model_would(params: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(nf.ModelError):
        nf.save_model(tmp_path / "m.npz", params)
    assert not list(tmp_path.iterdir())


def test_what_save_model_writes_loads_back(tmp_path: Path) -> None:
    loaded = nf.load_model(nf.save_model(tmp_path / "m.npz", PARAMS))
    assert all(np.array_equal(loaded[k], PARAMS[k]) for k in PARAMS)
