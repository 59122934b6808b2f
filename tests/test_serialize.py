"""Models and checkpoints: round trips, and every kind of bad file refused with ModelError."""

from __future__ import annotations

import contextlib
import io
import pickle  # only to build a malicious file and prove it is refused

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnfun as nf
from nnfun.serialize import checkpoint_from_npz, checkpoint_to_npz, params_from_npz, params_to_npz

PARAMS = nf.init_params((12, 8, 4), np.random.default_rng(0))
GOOD = params_to_npz(PARAMS)


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_params_round_trip_bit_exact_and_read_only() -> None:
    loaded = params_from_npz(GOOD)
    assert list(loaded) == ["W1", "b1", "W2", "b2"]
    for k in PARAMS:
        assert np.array_equal(loaded[k], PARAMS[k]) and loaded[k].dtype == PARAMS[k].dtype
        assert not loaded[k].flags.writeable


def test_checkpoint_round_trip() -> None:
    state = nf.TrainState(3, PARAMS, nf.adam_init(PARAMS), best_params=PARAMS)
    loaded, config = checkpoint_from_npz(checkpoint_to_npz(state, {"lr": 0.1}))
    assert loaded.epoch == 3 and config == {"lr": 0.1}
    assert int(loaded.opt_state["step"]) == 0 and loaded.best_params is not None


class Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("this must never run",))


def test_pickled_objects_are_refused_not_executed(capsys: pytest.CaptureFixture[str]) -> None:
    evil = np.array([Evil()], dtype=object)
    data = npz(W1=evil, b1=evil)
    with pytest.raises(nf.ModelError, match="pickle"):
        params_from_npz(data)
    assert "never run" not in capsys.readouterr().out
    assert pickle.dumps(1)  # (pickle is imported for building the file above only)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"W1": np.zeros((3, 2))}, "expected arrays"),
        ({"W1": np.zeros((3, 2)), "b1": np.zeros(3)}, "misshapen"),
        (
            {"W1": np.zeros((3, 2)), "b1": np.zeros(2), "W2": np.zeros((3, 2)), "b2": np.zeros(2)},
            "misshapen",
        ),
        ({"W1": np.zeros((3, 2), dtype=np.int32), "b1": np.zeros(2, dtype=np.int32)}, "floating"),
        ({"W1": np.full((3, 2), np.nan), "b1": np.zeros(2)}, "NaN"),
        ({"weights": np.zeros(3)}, "expected arrays"),
    ],
)
def test_wrong_or_misshapen_arrays(arrays: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(nf.ModelError, match=message):
        params_from_npz(npz(**arrays))


@pytest.mark.parametrize("data", [b"", b"not a zip", GOOD[: len(GOOD) // 2], GOOD[:100]])
def test_truncated_or_garbage_files(data: bytes) -> None:
    with pytest.raises(nf.ModelError):
        params_from_npz(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_model_files_load_or_raise_model_error(data: st.DataObject) -> None:
    raw = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        loaded = params_from_npz(bytes(raw[:cut]))
    except nf.ModelError:
        return
    assert set(loaded) == set(PARAMS)


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_loader(data: bytes) -> None:
    with contextlib.suppress(nf.ModelError):
        params_from_npz(data)
