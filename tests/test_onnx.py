"""`nnfun export` and `nnfun.export_onnx`: a standard ONNX graph that a real runtime agrees with.

The file is checked by `onnx.checker` and run by `onnxruntime` on the whole real MNIST test set:
its probabilities must equal nnfun's to 1e-5 and its digit (the argmax) must agree on every image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nnfun
from nnfun.onnx_format import INPUT, OPSET, OUTPUT, _varint, to_onnx
from nnfun_cli.app import app

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path: Path, pixels: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT], {INPUT: nnfun.scale_pixels(pixels)})[0]


def agree(path: Path, params: nnfun.Params, images: np.ndarray) -> None:
    ours = nnfun.predict_proba(params, images)
    theirs = run_onnx(path, images)
    assert theirs.shape == ours.shape and theirs.dtype == np.float32
    assert np.abs(theirs - ours).max() <= 1e-5
    assert (theirs.argmax(axis=1) == ours.argmax(axis=1)).all()


def test_a_trained_network_runs_the_same_in_onnxruntime(
    small_run: Path, mnist: dict[str, np.ndarray], tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["export", str(small_run), str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.stderr
    assert f"opset {OPSET}" in result.stdout
    agree(tmp_path / "m.onnx", nnfun.load_model(small_run), mnist["t10k-images-idx3-ubyte"])


def test_deeper_and_float64_networks_too(mnist: dict[str, np.ndarray], tmp_path: Path) -> None:
    """Three hidden layers, float64 weights (rounded to float32 in the file), on the test set."""
    params = nnfun.init_params((784, 64, 32, 16, 10), np.random.default_rng(0), dtype=np.float64)
    path = nnfun.export_onnx(params, tmp_path / "deep.onnx")
    agree(path, nnfun.cast(params, np.float32), mnist["t10k-images-idx3-ubyte"])


def test_the_graph_is_standard_onnx(tmp_path: Path) -> None:
    params = nnfun.init_params((784, 16, 8, 10), np.random.default_rng(1))
    model = onnx.load_from_string(to_onnx(params, producer_version=nnfun.__version__))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import] == [OPSET]
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"]
    (given,) = model.graph.input
    dims = given.type.tensor_type.shape.dim
    assert given.name == INPUT and given.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert dims[0].dim_param == "n" and dims[1].dim_value == 784
    assert "pixel / 255" in model.graph.doc_string and model.producer_name == "nnfun"


def test_the_file_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    params = nnfun.init_params((784, 8, 10), np.random.default_rng(2))
    with pytest.raises(nnfun.NnfunError, match=r"ends in \.onnx"):
        nnfun.export_onnx(params, tmp_path / "model.npz")
    assert not list(tmp_path.iterdir())


@settings(max_examples=12, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 40), min_size=0, max_size=3),
    outputs=st.integers(2, 10),
    seed=st.integers(0, 2**16),
)
def test_any_architecture_round_trips(hidden: list[int], outputs: int, seed: int) -> None:
    """Any depth and width (no hidden layer at all, too) gives a valid graph that agrees."""
    rng = np.random.default_rng(seed)
    params = nnfun.init_params((784, *hidden, outputs), rng)
    model = to_onnx(params)
    onnx.checker.check_model(onnx.load_from_string(model), full_check=True)
    pixels = rng.integers(0, 256, (17, 784), dtype=np.uint8)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    theirs = session.run([OUTPUT], {INPUT: nnfun.scale_pixels(pixels)})[0]
    assert np.abs(theirs - nnfun.predict_proba(params, pixels)).max() <= 1e-5


@given(st.integers(0, 2**63 - 1))
def test_varints_decode_to_their_value(value: int) -> None:
    """Base-128 varints as protobuf reads them: seven bits a byte, low first, high bit = more."""
    encoded = _varint(value)
    decoded = sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(encoded))
    assert decoded == value and all(b & 0x80 for b in encoded[:-1]) and encoded[-1] < 0x80
