"""`nnfun export` and `nnfun.export_onnx`: a standard ONNX graph that a real runtime agrees with.

The file is checked by `onnx.checker` and run by `onnxruntime` on the whole real MNIST test set:
its probabilities must equal nnfun's to 1e-5 and its digit (the argmax) must agree on every image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnfun
from nnfun.onnx_format import INPUT, OPSET, OUTPUT, to_onnx
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
