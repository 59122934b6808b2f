"""`nnfun predict` on the files a person would give it: photos, drawings, scans, arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from test_preprocess import render
from typer.testing import CliRunner

import nnfun as nf
from nnfun.serialize import params_to_npz
from nnfun_cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def model(mnist, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nf.Params]:  # type: ignore[no-untyped-def]
    """784-128-10 trained for 2 epochs on 20,000 real digits (a few seconds), saved as model.npz."""
    x = nf.scale_pixels(mnist["train-images-idx3-ubyte"][:20_000])
    y = mnist["train-labels-idx1-ubyte"][:20_000]
    config = nf.Config(hidden=(128,), epochs=2, lr=0.05, val_size=0)
    *_, state = nf.recipes.fit_config(config, x, y, x[:0], y[:0])
    path = tmp_path_factory.mktemp("model") / "model.npz"
    path.write_bytes(params_to_npz(state.params))
    return path, state.params


def predict_json(*args: str | Path) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    """Run `predict --json`: the exit code, the predictions of its one document, stderr."""
    result = runner.invoke(app, ["predict", *map(str, args), "--json"])
    document = orjson.loads(result.stdout)
    assert set(document) == {"predictions", "errors"}
    return result.exit_code, document["predictions"], result.stderr


def test_rendered_photos_and_drawings_match_accuracy_on_the_arrays(mnist, model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, params = model
    digits, labels = mnist["t10k-images-idx3-ubyte"][:300], mnist["t10k-labels-idx1-ubyte"][:300]
    rng = np.random.default_rng(7)
    for i, digit in enumerate(digits):
        render(digit, i, rng, tmp_path)
    code, records, err = predict_json(path, tmp_path)
    assert code == 0, err
    assert len(records) == 300 and not any(r["blank"] for r in records)
    by_index = {int(Path(r["file"]).name[5:9]): r["digit"] for r in records}
    rendered = np.mean([by_index[i] == labels[i] for i in range(300)])
    original = nf.accuracy(nf.forward(params, nf.scale_pixels(digits)), labels)
    print(f"accuracy on arrays {original:.3f}, on rendered files {rendered:.3f}")
    assert original > 0.9
    assert abs(rendered - original) <= 0.02


def test_arrays_raw_and_a_bad_file_among_good_ones(mnist, model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, params = model
    digits = mnist["t10k-images-idx3-ubyte"][:3]
    np.save(tmp_path / "a.npy", digits[0])
    np.save(tmp_path / "b.npy", digits[1].reshape(784))
    np.save(tmp_path / "stack.npy", digits)
    (tmp_path / "broken.png").write_text("not an image")
    code, records, err = predict_json(
        path,
        tmp_path / "a.npy",
        tmp_path / "broken.png",
        tmp_path / "b.npy",
        tmp_path / "stack.npy",
        "--raw",
    )
    assert code == 1
    assert [line for line in err.splitlines() if line.strip()] == [err.strip()]
    assert "broken.png" in err and "Traceback" not in err
    assert [r["file"].split("/")[-1] for r in records] == [
        "a.npy",
        "b.npy",
        "stack.npy[0]",
        "stack.npy[1]",
        "stack.npy[2]",
    ]
    expected = nf.forward(params, nf.scale_pixels(digits)).argmax(axis=1)
    assert [r["digit"] for r in records[2:]] == expected.tolist()
    for r in records:
        assert len(r["top3"]) == 3 and abs(sum(r["probabilities"]) - 1) < 1e-4
        assert r["confidence"] == r["top3"][0]["probability"]


def test_table_and_show(mnist, model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, _ = model
    np.save(tmp_path / "seven.npy", mnist["t10k-images-idx3-ubyte"][0])
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "seven.npy")])
    squeezed = "".join(ch for ch in result.stdout if ch not in "│ \n")  # the path may wrap
    assert result.exit_code == 0 and "seven.npy" in squeezed and "│   7   │" in result.stdout
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "seven.npy"), "--show"])
    assert (
        result.exit_code == 0 and "@@" in result.stdout
    )  # the digit drawn in ASCII (no colour here)


def test_missing_model_or_input(model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["predict", str(tmp_path / "nope.npz"), str(tmp_path)])
    assert result.exit_code == 2 and "no model" in result.stderr
    result = runner.invoke(app, ["predict", str(model[0]), str(tmp_path / "missing.png")])
    assert result.exit_code == 1 and "missing.png does not exist" in result.stderr


def test_has_ink_tells_digits_from_blank_pictures(mnist) -> None:  # type: ignore[no-untyped-def]
    digits = mnist["t10k-images-idx3-ubyte"][:1000]
    assert all(nf.has_ink(d) for d in digits)
    assert all(nf.has_ink(255 - d) for d in digits[:50])  # dark ink on white counts too
    assert all(nf.has_ink(nf.to_mnist(255 - d)) for d in digits[:50])
    rng = np.random.default_rng(0)
    blank = [
        np.zeros((28, 28), np.uint8),
        np.full((28, 28), 255, np.uint8),
        np.full((400, 300, 3), 0.6),
        np.clip(0.9 + 0.02 * rng.standard_normal((200, 200)), 0, 1),  # paper with faint noise
        np.zeros((0, 0)),
    ]
    assert not any(nf.has_ink(b) for b in blank)
    assert not any(nf.has_ink(nf.to_mnist(b)) for b in blank[:4])
    speck = np.zeros((28, 28))
    speck[14, 14] = 1.0  # one bright pixel is not a digit
    assert not nf.has_ink(speck)
