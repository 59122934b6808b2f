"""A corpus of bad inputs for every command, built in one folder: files first, then the cases.

`build(root, train)` writes datasets, a trained run, damaged models, pictures, run folders and
checkpoints under `root`; `CASES` maps each command to a generator of command lines that must
all fail cleanly (see test_bad_inputs.py). A command written later adds its own generator to
`CASES` (e.g. `CASES["sweep"] = sweep_cases`) and is checked the same way.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from conftest import learnable_noise, write_dataset


@dataclass(frozen=True)
class Files:
    """Where the corpus lives: good inputs to vary, and folders of bad ones."""

    root: Path
    data: Path  # a good data dir (random 28x28 images, learnable labels)
    run: Path  # a finished run of 2 epochs trained on `data`
    models: Path
    pictures: Path
    runs: Path  # damaged copies of `run`
    checkpoints: Path  # copies of `run` whose checkpoint was tampered with (epochs raised to 3)
    datasets: Path  # damaged data dirs
    configs: Path


@dataclass(frozen=True)
class Case:
    """One command line that must fail cleanly. `usage`: Typer rejects it while parsing."""

    name: str
    argv: tuple[str, ...]
    usage: bool = False
    started: bool = False  # training began (progress lines may come before the error)
    expect: str = ""  # the message must say this: the case fails for the reason it names


def case(
    name: str, *argv: Any, usage: bool = False, started: bool = False, expect: str = ""
) -> Case:
    return Case(name, tuple(str(a) for a in argv), usage, started, expect)


LONG = "x" * 300  # a path component longer than any file system allows (255)


# --------------------------------------------------------------------------- building files


def build(root: Path, train: Callable[[Path, Path], None]) -> Files:
    """Every file the cases use; `train(data, out)` makes the good run."""
    images, labels = learnable_noise(700, np.random.default_rng(1))
    data = write_dataset(root / "data", images[:600], labels[:600], images[600:], labels[600:])
    run = root / "run"
    train(data, run)
    files = Files(
        root,
        data,
        run,
        *(root / n for n in ("models", "pictures", "runs", "checkpoints", "datasets", "configs")),
    )
    for folder in (files.models, files.pictures, files.runs, files.checkpoints, files.datasets):
        folder.mkdir()
    files.configs.mkdir()
    _datasets(files, images, labels)
    _models(files)
    _pictures(files)
    _runs(files)
    _checkpoints(files)
    (root / "a_file").write_text("not a folder\n")
    loop = root / "loop"
    os.symlink(loop, loop)
    os.mkfifo(root / "fifo")
    return files


def _datasets(f: Files, images: np.ndarray, labels: np.ndarray) -> None:
    d = f.datasets
    keep = labels[:600] != labels.max()
    write_dataset(d / "top_label_only_in_test", images[:600][keep], labels[:600][keep], images[600:], labels[600:])  # fmt: skip
    write_dataset(d / "empty_test", images[:600], labels[:600], images[:0], labels[:0])
    small = images[:, 4:24, 4:24].copy()
    write_dataset(d / "20x20", small[:600], labels[:600], small[600:], labels[600:])
    write_dataset(d / "mixed_sizes", images[:600], labels[:600], small[600:], labels[600:])
    for rows, cols in ((0, 0), (0, 28), (28, 0), (28, 14)):  # degenerate and non-square pictures
        odd = np.zeros((700, rows, cols), dtype=np.uint8)
        odd[:, : rows // 2] = images[:, : rows // 2, :cols]
        write_dataset(d / f"{rows}x{cols}", odd[:600], labels[:600], odd[600:], labels[600:])
    for name, damage in {
        "truncated": lambda b: b[: len(b) // 2],
        "junk": lambda b: b"\x1f\x8b\x08\x00 junk after a gzip magic",
        "text": lambda b: b"hello\n",
    }.items():
        for split in ("train", "t10k"):  # eval and report read only the test files
            folder = d / (name if split == "train" else f"test_{name}")
            shutil.copytree(f.data, folder)
            target = folder / "mnist" / f"{split}-images-idx3-ubyte.gz"
            target.write_bytes(damage(target.read_bytes()))
    big_labels = labels.copy()
    big_labels[0] = 12
    write_dataset(d / "label_12", images[:600], big_labels[:600], images[600:], labels[600:])
    shutil.copytree(f.data, d / "devzero")
    (d / "devzero" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    os.symlink("/dev/zero", d / "devzero" / "mnist" / "t10k-labels-idx1-ubyte")


def npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def declare_size(data: bytes, size: int) -> bytes:
    """The zip with every member's uncompressed size field set to `size` (a zip bomb's lie)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            out[start + offset : start + offset + 4] = struct.pack("<I", size)
            start += 4
    return bytes(out)


def _models(f: Files) -> None:
    with np.load(f.run / "model.npz") as z:
        good = {k: z[k] for k in z.files}
    w1, b1, w2, b2 = good["W1"], good["b1"], good["W2"], good["b2"]
    hidden = w1.shape[1]
    f32 = np.float32
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    models: dict[str, bytes] = {
        "text.npz": b"this is a text file, not a model\n",
        "empty.npz": b"",
        "picture.npz": _png(28, 28),
        "array.npz": _npy(np.zeros(3)),
        "junk_zip.npz": b"PK\x03\x04 not really a zip",
        "truncated.npz": npz_bytes(**good)[:200],
        "text_member.npz": zip_bytes({"W1.npy": b"", "readme.txt": b"hi"}),
        "not_npy_member.npz": zip_bytes({"W1": b"hello", "b1.npy": b"nope"}),
        "bomb.npz": declare_size(zip_bytes({"W1.npy": b"\0" * 1000, "b1.npy": b"\0" * 10}), 0xFFFFFFF0),
        "huge_header.npz": zip_bytes({"W1.npy": header.getvalue() + b"\0" * 64, "b1.npy": header.getvalue()}),
        "pickled.npz": npz_bytes(W1=np.array([{"a": 1}], dtype=object), b1=np.zeros(1)),
        "no_arrays.npz": npz_bytes(),
        "W1_only.npz": npz_bytes(W1=w1),
        "extra_array.npz": npz_bytes(**good, X=np.zeros(1)),
        "W0.npz": npz_bytes(W0=w1, b0=b1),
        "misshapen.npz": npz_bytes(W1=w1, b1=b1[:3], W2=w2, b2=b2),
        "3d.npz": npz_bytes(W1=w1.reshape(784, hidden, 1), b1=b1, W2=w2, b2=b2),
        "ints.npz": npz_bytes(**{k: v.astype(np.int32) for k, v in good.items()}),
        "complex.npz": npz_bytes(**{k: v.astype(np.complex64) for k, v in good.items()}),
        "nan.npz": npz_bytes(**{**good, "W1": np.full_like(w1, np.nan)}),
        "zero_width.npz": npz_bytes(W1=np.zeros((784, 0), f32), b1=np.zeros(0, f32), W2=np.zeros((0, 10), f32), b2=b2),
        "inputs_100.npz": npz_bytes(W1=np.zeros((100, hidden), f32), b1=b1, W2=w2, b2=b2),
        "inputs_400.npz": npz_bytes(W1=np.zeros((400, hidden), f32), b1=b1, W2=w2, b2=b2),
        "outputs_5.npz": npz_bytes(W1=w1, b1=b1, W2=w2[:, :5], b2=b2[:5]),
        "outputs_11.npz": npz_bytes(W1=w1, b1=b1, W2=np.zeros((hidden, 11), f32), b2=np.zeros(11, f32)),
    }  # fmt: skip
    for name, data in models.items():
        (f.models / name).write_bytes(data)
    (f.models / "folder.npz").mkdir()
    os.symlink("/dev/zero", f.models / "devzero.npz")


def _png(width: int, height: int, rows: bytes | None = None) -> bytes:
    """A grey PNG of zeros, built by hand so its header can claim any size."""
    raw = rows if rows is not None else zlib.compress(b"\0" * ((width + 1) * height), 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        return struct.pack(">I", len(body)) + kind + body + crc

    head = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _pictures(f: Files) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**7, 10**7)}
    )
    idx = bytes([0, 0, 8, 3])
    pictures: dict[str, bytes] = {
        "empty.png": b"",
        "text.png": b"hello world\n",
        "truncated.png": _png(28, 28)[:45],
        "pixel_bomb.png": _png(100_000, 100_000, zlib.compress(b"\0" * 100)),
        "45_megapixels.png": _png(7500, 6000),
        "huge_maxval.pgm": b"P2\n2 2\n99999999999999999999999\n1 2 3 4\n",
        "huge_sample.pgm": b"P2\n2 2\n255\n1 2 3 99999999999999999999999999999\n",
        "sample_over_maxval.pgm": b"P2\n2 2\n255\n1 2 3 300\n",
        "negative_sample.pgm": b"P2\n2 2\n255\n1 -2 3 4\n",
        "huge_size.pgm": b"P5\n99999999999 99999999999\n255\n" + b"\0" * 10,
        "size_5000_digits.pgm": b"P5\n" + b"9" * 5000 + b" 1\n255\n\0",
        "zero_maxval.pgm": b"P2\n2 2\n0\n0 0 0 0\n",
        "truncated.pbm": b"P4\n100 100\n\x00",
        "truncated_plain.pgm": b"P2\n10000 10000\n255\n" + b"1 " * 100,
        "objects.npy": _npy(np.array([{"a": 1}], dtype=object)),
        "strings.npy": _npy(np.array(["a", "b"])),
        "complex.npy": _npy(np.zeros((28, 28), np.complex64)),
        "scalar.npy": _npy(np.float32(3)),
        "empty_array.npy": _npy(np.zeros((0, 0))),
        "5d.npy": _npy(np.zeros((1, 1, 1, 28, 28))),
        "labels.npy": _npy(np.arange(10)),
        "huge_header.npy": header.getvalue() + b"\0" * 100,
        "bad_header.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage}  \n",
        "huge_dims.idx": idx + (2**32 - 1).to_bytes(4, "big") * 3,
        "zero_images.idx": idx + (0).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2,
        "junk.gz": b"\x1f\x8b\x08\x00garbage",
    }  # fmt: skip
    for name, data in pictures.items():
        (f.pictures / name).write_bytes(data)
    os.symlink("/dev/zero", f.pictures / "devzero.png")
    os.symlink(f.pictures / "loop.png", f.pictures / "loop.png")
    os.mkfifo(f.pictures / "fifo.png")
    (f.pictures / "folder_loop").mkdir()
    os.symlink(f.pictures / "folder_loop", f.pictures / "folder_loop" / "self")


def _copy_run(f: Files, folder: Path, name: str) -> Path:
    target = folder / name
    shutil.copytree(f.run, target, symlinks=True)
    return target


def _runs(f: Files) -> None:
    config = orjson.loads((f.run / "config.json").read_bytes())
    metrics = orjson.loads((f.run / "metrics.json").read_bytes())
    history = orjson.loads((f.run / "history.json").read_bytes())
    ten = [[1] * 10 for _ in range(10)]
    damaged: dict[str, tuple[str, Any]] = {
        "config_list": ("config.json", [1, 2]),
        "config_dataset_number": ("config.json", {**config, "dataset": 5}),
        "config_dataset_path": ("config.json", {**config, "dataset": "../../etc"}),
        "config_hidden_text": ("config.json", {**config, "hidden": "abc"}),
        "config_hidden_huge": ("config.json", {**config, "hidden": [10**15]}),
        "config_unknown_key": ("config.json", {**config, "colour": "blue"}),
        "metrics_list": ("metrics.json", []),
        "metrics_absurd_counts": ("metrics.json", {**metrics, "confusion_matrix": [[10**30] * 10] * 10}),
        "metrics_fractional_counts": ("metrics.json", {**metrics, "confusion_matrix": [[1.5] * 10] * 10}),
        "metrics_negative_counts": ("metrics.json", {**metrics, "confusion_matrix": [[-1] * 10] * 10}),
        "metrics_ragged": ("metrics.json", {**metrics, "confusion_matrix": [[1, 2], [3]]}),
        "metrics_1000_classes": ("metrics.json", {**metrics, "confusion_matrix": [[1] * 1000] * 1000, "per_class_accuracy": [0.5] * 1000}),
        "metrics_accuracy_1e300": ("metrics.json", {**metrics, "test_accuracy": 1e300}),
        "metrics_accuracy_null": ("metrics.json", {**metrics, "test_accuracy": None}),
        "metrics_accuracy_text": ("metrics.json", {**metrics, "test_accuracy": "high"}),
        "metrics_train_accuracy_negative": ("metrics.json", {**metrics, "train_accuracy": -5}),
        "metrics_loss_text": ("metrics.json", {**metrics, "test_loss": "x"}),
        "metrics_seconds_negative": ("metrics.json", {**metrics, "train_seconds": -1e20}),
        "metrics_per_class_text": ("metrics.json", {**metrics, "per_class_accuracy": ["a"] * 10, "confusion_matrix": ten}),
        "history_empty": ("history.json", []),
        "history_object": ("history.json", {"epoch": 1}),
        "history_epoch_fraction": ("history.json", [{**history[0], "epoch": 1.5}]),
        "history_epoch_huge": ("history.json", [{**history[0], "epoch": 10**30}]),
        "history_epoch_negative": ("history.json", [{**history[0], "epoch": -3}]),
        "history_epochs_repeat": ("history.json", [history[0]] * 5),
        "history_lr_bool": ("history.json", [{**history[0], "lr": True}]),
        "history_accuracy_huge": ("history.json", [{**history[0], "train_accuracy": 1e300}]),
        "history_seconds_huge_negative": ("history.json", [{**history[0], "seconds": -1e300}]),
    }  # fmt: skip
    for name, (file, content) in damaged.items():
        run = _copy_run(f, f.runs, name)
        (run / file).write_text(json.dumps(content))  # big ints too
    for name, file, replace in (
        ("config_not_json", "config.json", lambda p: p.write_text("{nope")),
        ("config_folder", "config.json", lambda p: (p.unlink(), p.mkdir())),
        ("metrics_devzero", "metrics.json", lambda p: (p.unlink(), os.symlink("/dev/zero", p))),
        ("history_fifo", "history.json", lambda p: (p.unlink(), os.mkfifo(p))),
        ("no_metrics", "metrics.json", lambda p: p.unlink()),
        ("no_history", "history.json", lambda p: p.unlink()),
        ("model_text", "model.npz", lambda p: p.write_text("hello")),
        ("model_missing", "model.npz", lambda p: p.unlink()),
        ("model_inputs_400", "model.npz", lambda p: p.write_bytes((f.models / "inputs_400.npz").read_bytes())),
        ("model_outputs_5", "model.npz", lambda p: p.write_bytes((f.models / "outputs_5.npz").read_bytes())),
    ):  # fmt: skip
        replace(_copy_run(f, f.runs, name) / file)


def _checkpoints(f: Files) -> None:
    """Copies of the run, unfinished (no model, no metrics), with a checkpoint tampered with."""
    with np.load(f.run / "checkpoint.npz") as z:
        original = {k: z[k] for k in z.files}

    def opt(arrays: dict[str, np.ndarray], change: Callable[[np.ndarray], np.ndarray]) -> None:
        for k in [k for k in arrays if k.startswith("opt/")]:
            arrays[k] = change(arrays[k])

    tampering: dict[str, Callable[[dict[str, np.ndarray], dict[str, Any]], Any]] = {
        "resumable": lambda a, m: None,  # untouched: for the refusals that come before loading
        "epoch_negative": lambda a, m: m.update(epoch=-1),
        "epoch_past_the_end": lambda a, m: m.update(epoch=7),
        "epoch_fraction": lambda a, m: m.update(epoch=1.5),
        "epoch_text": lambda a, m: m.update(epoch="2"),
        "epoch_bool": lambda a, m: m.update(epoch=True),
        "optimizer_switched": lambda a, m: m["config"].update(optimizer="adam", momentum=0.9),
        "adam_steps_negative": lambda a, m: (
            m["config"].update(optimizer="adam", momentum=0.9),
            a.update({k.replace("velocity", "m"): v for k, v in a.items() if k.startswith("opt/")}),
            a.update({k.replace("velocity", "v"): v for k, v in a.items() if k.startswith("opt/velocity")}),
            [a.pop(k) for k in list(a) if k.startswith("opt/velocity")],
            a.update({"opt/step": np.array(-5, dtype=np.int64)}),
        ),
        "state_missing": lambda a, m: [a.pop(k) for k in list(a) if k.startswith("opt/")],
        "state_misshapen": lambda a, m: opt(a, lambda v: v[:3]),
        "state_integers": lambda a, m: opt(a, lambda v: v.astype(np.int64)),
        "state_nan": lambda a, m: opt(a, lambda v: np.full_like(v, np.nan)),
        "state_extra": lambda a, m: a.update({"opt/extra": np.zeros(3)}),
        "config_list": lambda a, m: m.update(config=[1, 2]),
        "config_bad_hidden": lambda a, m: m["config"].update(hidden="x"),
        "config_other_hidden": lambda a, m: m["config"].update(hidden=[16]),
        "config_bad_seed": lambda a, m: m["config"].update(seed=-4),
        "history_garbled": lambda a, m: m.update(history=[{"epoch": "x"}]),
        "history_lists": lambda a, m: m.update(history=[[1, 2], [3]]),
        "meta_missing": lambda a, m: a.pop("meta"),
        "meta_floats": lambda a, m: a.update(meta=np.zeros((3, 3))),
        "params_missing": lambda a, m: [a.pop(k) for k in list(a) if k.startswith("params/")],
        "params_inputs_400": lambda a, m: a.update({"params/W1": np.zeros((400, a["params/W1"].shape[1]), np.float32)}),
        "params_nan": lambda a, m: a.update({"params/b1": np.full_like(a["params/b1"], np.nan)}),
    }  # fmt: skip
    for name, tamper in tampering.items():
        run = _copy_run(f, f.checkpoints, name)
        for finished in ("model.npz", "metrics.json"):
            (run / finished).unlink()
        arrays = dict(original)
        meta = orjson.loads(arrays["meta"].tobytes())
        meta["config"]["epochs"] = 3
        tamper(arrays, meta)
        if "meta" in arrays and arrays["meta"].dtype == np.uint8:
            arrays["meta"] = np.frombuffer(orjson.dumps(meta), dtype=np.uint8)
        (run / "checkpoint.npz").write_bytes(npz_bytes(**arrays))
    for name, data in (
        ("text", b"hello\n"),
        ("meta_not_json", None),
        ("pickled", npz_bytes(**{**original, "opt/x": np.array([{}], dtype=object)})),
        ("bomb", declare_size(zip_bytes({"meta.npy": b"\0" * 100}), 0xFFFFFFF0)),
    ):
        run = _copy_run(f, f.checkpoints, name)
        for finished in ("model.npz", "metrics.json"):
            (run / finished).unlink()
        if data is None:
            data = npz_bytes(**{**original, "meta": np.frombuffer(b"\xff garbage", np.uint8)})
        (run / "checkpoint.npz").write_bytes(data)


# --------------------------------------------------------------------------- the cases


TRAINABLE = ("20x20", "28x14")
"""Data sets of other picture sizes than 28x28 that train (without augmentation)."""


def train_cases(f: Files) -> Iterator[Case]:
    out = f.root / "new_run"
    base = ("train", "--no-figures", "--data-dir", f.data, "--out", out, "--val-size", "100")
    base += ("--epochs", "1", "--hidden", "8")
    bad_values: dict[str, list[Any]] = {
        "--seed": [-1, 2**63, 2**64],
        "--epochs": [0, -3, 10**10],
        "--batch-size": [0, 10**10],
        "--hidden": [
            0,
            -5,
            "",
            "1,,2",
            "x",
            "1e3",
            10**10,
            "100000,100000",
            "1000000",
            "1," * 1000 + "1",
        ],
        "--milestones": [-1, 0, "x", 2**64],
        "--lr": [0, -1, "nan", "inf", "1e309"],
        "--momentum": [1, -0.1, "nan"],
        "--weight-decay": [-1, "inf"],
        "--clip": [-1, "nan", "inf"],
        "--gamma": [0, "inf", "nan"],
        "--warmup": [-1, "inf", "nan"],
        "--dropout": [1, -0.1, "nan"],
        "--input-dropout": [1, "inf"],
        "--label-smoothing": [1, "nan"],
        "--ema": [1, -0.1, "nan", "inf"],
        "--shift": [-1, "inf"],
        "--rotate": [-1, "nan"],
        "--scale": [1, -0.5],
        "--elastic-alpha": [-1, "inf"],
        "--val-size": [-1, 600, 10**10],
        "--dataset": ["../x", "", "a/b", ".", "missing"],
        "--optimizer": ["foo", ""],
        "--schedule": ["foo"],
        "--recipe": ["nope", "../seed", ""],
    }
    for flag, values in bad_values.items():
        for value in values:
            choice = flag in ("--optimizer", "--schedule", "--recipe")  # Typer checks choices
            yield case(f"train {flag} {value}", *base, flag, value, usage=choice)
    yield case("train --elastic-sigma 0", *base, "--elastic-alpha", 1, "--elastic-sigma", 0)
    yield case("train --elastic-sigma without alpha", *base, "--elastic-sigma", 3)
    yield case("train adam with momentum", *base, "--optimizer", "adam", "--momentum", 0.5)
    yield case("train cosine with gamma", *base, "--schedule", "cosine", "--gamma", 0.5)
    for flag, value in (("--seed", 1.5), ("--epochs", "x"), ("--lr", "fast"), ("--bogus", 1)):
        yield case(f"train {flag} {value}", *base, flag, value, usage=True)
    yield from _config_cases(f, base)
    for name, target in (
        ("a file", f.root / "a_file"),
        ("under a file", f.root / "a_file" / "run"),
        ("a long name", f.root / LONG),
        ("a finished run", f.run),
        ("a link loop", f.root / "loop"),
    ):
        yield case(f"train --out {name}", *base[:4], "--out", target, *base[6:])
    for name, data in (
        ("a file", f.root / "a_file"),
        ("a link loop", f.root / "loop"),
        ("/dev/null", "/dev/null"),
        ("a long name", f.root / LONG),
        *((d.name, d) for d in sorted(f.datasets.iterdir()) if d.name not in TRAINABLE),
    ):
        yield case(f"train --data-dir {name}", *base[:2], "--data-dir", data, *base[4:])
    shift = ("--shift", "1")
    yield case("train --shift on 28x14 images", *base[:2], "--data-dir", f.datasets / "28x14", *base[4:], *shift)  # fmt: skip
    yield from _resume_cases(f)
    yield case("train diverging", *base, "--lr", "1e9", "--clip", "0", started=True)
    yield case("train blowing up while finite", *base, "--lr", "1e6", started=True)


def _config_cases(f: Files, base: tuple[Any, ...]) -> Iterator[Case]:
    """`--config FILE` with settings of the wrong type or range (no flags to override them)."""
    good = "hidden = [8]\nepochs = 1\nval_size = 100\n"
    bad_lines = {
        "epochs text": 'epochs = "5"', "epochs float": "epochs = 5.0", "epochs bool": "epochs = true",
        "epochs date": "epochs = 1979-05-27", "hidden float": "hidden = [1.5]", "hidden scalar": "hidden = 64",
        "hidden empty": "hidden = []", "hidden mixed": 'hidden = [1, "a"]', "hidden nested": "hidden = [[8]]",
        "keep_best text": 'keep_best = "no"', "keep_best number": "keep_best = 1", "lr text": 'lr = "0.1"',
        "lr inf": "lr = inf", "gamma nan": "gamma = nan", "seed negative": "seed = -1",
        "seed 2^63": "seed = 9223372036854775808", "clip text": 'clip = "0"',
        "optimizer list": 'optimizer = ["sgd"]', "dataset number": "dataset = 3", "unknown": "colour = 1",
        "table": "[section]\nlr = 0.1", "array of tables": "[[a]]\nb = 1", "val_size float": "val_size = 5.5",
        "milestones nested": "milestones = [[1]]", "hidden huge": "hidden = [100000, 100000]",
    }  # fmt: skip
    for name, line in bad_lines.items():
        key = line.split("=")[0].strip()
        text = "".join(g + "\n" for g in good.splitlines() if not g.startswith(key)) + line + "\n"
        path = f.configs / (name.replace(" ", "_") + ".toml")
        path.write_text(text)
    for path in sorted(f.configs.iterdir()):
        yield case(f"train --config {path.stem}", *base[:6], "--config", path)
    for name, data in (("binary", b"\x00\xff\xfe" * 10), ("latin-1", "lr = 0.1 # caf\xe9".encode("latin-1")), ("not toml", b"lr = = 1"), ("deeply nested", b"hidden = " + b"[" * 5000 + b"]" * 5000), ("huge", b"#" * (2 << 20))):  # fmt: skip
        path = f.root / f"config_{name}.toml"
        path.write_bytes(data)
        yield case(f"train --config {name}", *base[:6], "--config", path)
    for name, path in (("missing", f.root / "none.toml"), ("a folder", f.configs), ("/dev/zero", "/dev/zero"), ("a fifo", f.root / "fifo"), ("a long name", f.root / LONG)):  # fmt: skip
        yield case(f"train --config {name}", *base[:6], "--config", path)


def _resume_cases(f: Files) -> Iterator[Case]:
    data = ("--data-dir", f.data)
    for name, folder in (
        ("missing", f.root / "none"),
        ("a file", f.root / "a_file"),
        ("no checkpoint", f.models),
        ("a long name", f.root / LONG),
        ("a finished run", f.run),
    ):
        yield case(f"resume {name}", "train", "--resume", folder, *data)
    for extra in (("--out", f.root / "elsewhere"), ("--config", f.configs / "unknown.toml"), ("--recipe", "best"), ("--lr", "0.1")):  # fmt: skip
        yield case(
            f"resume with {extra[0]}",
            "train",
            "--resume",
            f.checkpoints / "resumable",
            *data,
            *extra,
        )
    for folder in sorted(f.checkpoints.iterdir()):
        if folder.name != "resumable":
            yield case(f"resume checkpoint {folder.name}", "train", "--resume", folder, *data)
    for name in ("20x20", "top_label_only_in_test", "empty_test"):
        yield case(f"resume on {name}", "train", "--resume", f.checkpoints / "resumable", "--data-dir", f.datasets / name)  # fmt: skip


def _model_paths(f: Files) -> Iterator[tuple[str, Any]]:
    yield from ((p.name, p) for p in sorted(f.models.iterdir()))
    yield from (
        ("missing", f.root / "none.npz"),
        ("/dev/zero", "/dev/zero"),
        ("/dev/null", "/dev/null"),
        ("a fifo", f.root / "fifo"),
        ("a link loop", f.root / "loop"),
        ("a long name", f.root / LONG),
        ("a picture", f.pictures / "truncated.png"),
        ("a folder without a model", f.runs / "model_missing"),
        ("a run with a text model", f.runs / "model_text"),
    )


def eval_cases(f: Files) -> Iterator[Case]:
    data = ("--data-dir", f.data)
    for name, model in _model_paths(f):
        yield case(f"eval {name}", "eval", model, *data)
    for name in ("config_list", "config_dataset_number", "config_dataset_path", "config_not_json", "model_inputs_400", "model_outputs_5"):  # fmt: skip
        yield case(f"eval run {name}", "eval", f.runs / name, *data)
    train_only = ("top_label_only_in_test", "truncated", "junk", "text", "label_12")
    for folder in sorted(f.datasets.iterdir()):
        if folder.name not in train_only:  # eval reads the test files only
            yield case(f"eval on {folder.name}", "eval", f.run, "--data-dir", folder)
    for dataset in ("../x", "missing", "a/b", "."):
        yield case(f"eval --dataset {dataset!r}", "eval", f.run, *data, "--dataset", dataset)
    yield case("eval without a model", "eval", usage=True)
    for name, model in _model_paths(f):  # a bad second member of an ensemble
        yield case(f"eval ensemble with {name}", "eval", f.run, model, *data)
    yield case("eval ensemble with outputs_5", "eval", f.run, f.models / "outputs_5.npz", *data)


def predict_cases(f: Files) -> Iterator[Case]:
    picture = f.pictures / "text.png"
    for name, model in _model_paths(f):
        if name not in ("outputs_5.npz",):  # a model of digits 0-4 predicts those
            yield case(f"predict with model {name}", "predict", model, picture)
    for path in sorted(f.pictures.iterdir()):
        yield case(f"predict {path.name}", "predict", f.run, path)
    yield case("predict a folder loop, recursively", "predict", f.run, f.pictures / "folder_loop", "-r")  # fmt: skip
    yield case("predict a missing file", "predict", f.run, f.root / "none.png")
    yield case("predict a long name", "predict", f.run, f.root / LONG)
    yield case("predict --raw 45 MP", "predict", f.run, f.pictures / "45_megapixels.png", "--raw")
    yield case("predict --raw a stack", "predict", f.run, f.pictures / "5d.npy", "--raw")
    yield case("predict without pictures", "predict", f.run)  # says: or add --samples
    for name, model in _model_paths(f):  # a bad second member of an ensemble
        yield case(f"predict --with {name}", "predict", f.run, picture, "--with", model)
    yield case("predict --with outputs_5", "predict", f.run, picture, "--with", f.models / "outputs_5.npz")  # fmt: skip


def report_cases(f: Files) -> Iterator[Case]:
    for folder in sorted(f.runs.iterdir()):
        if folder.name not in ("model_inputs_400", "model_outputs_5", "model_text", "model_missing"):  # fmt: skip
            yield case(f"report {folder.name}", "report", folder, "--no-figures")
    for name in ("model_inputs_400", "model_outputs_5", "model_text", "model_missing"):
        yield case(f"report figures {name}", "report", f.runs / name, "--data-dir", f.data)
    for name in ("20x20", "empty_test", "test_truncated", "test_junk"):
        yield case(f"report figures on {name}", "report", f.run, "--figures", "--data-dir", f.datasets / name)  # fmt: skip
    for name, path in (("a file", f.root / "a_file"), ("missing", f.root / "none"), ("a long name", f.root / LONG), ("a model file", f.run / "model.npz"), ("an unfinished run", f.checkpoints / "text")):  # fmt: skip
        yield case(f"report {name}", "report", path, "--no-figures")


def compare_cases(f: Files) -> Iterator[Case]:
    yield case("compare one run", "compare", f.run)
    for folder in sorted(f.runs.iterdir()):
        if not folder.name.startswith("model_"):  # compare reads no model
            yield case(f"compare with {folder.name}", "compare", f.run, folder)
    for name, path in (("a file", f.root / "a_file"), ("missing", f.root / "none"), ("a long name", f.root / LONG)):  # fmt: skip
        yield case(f"compare with {name}", "compare", f.run, path)
    for name, path in (("under a file", f.root / "a_file" / "c.png"), ("a long name", f.root / LONG / "c.png")):  # fmt: skip
        yield case(f"compare --out {name}", "compare", f.run, f.run, "--out", path)
    data = ("--data-dir", f.data)
    for name in ("model_inputs_400", "model_outputs_5", "model_text", "model_missing"):
        yield case(f"compare --ensemble with {name}", "compare", f.run, f.runs / name, "--ensemble", *data)  # fmt: skip
    for name in ("20x20", "empty_test", "test_truncated", "test_junk"):
        yield case(f"compare --ensemble on {name}", "compare", f.run, f.run, "--ensemble", "--data-dir", f.datasets / name)  # fmt: skip


def gradcheck_cases(f: Files) -> Iterator[Case]:
    for flag, values in {
        "--eps": ["nan", "inf", "-1", "0", "1e300"],
        "--tolerance": ["nan", "-1", "inf"],
        "--sizes": ["", "0,1", "1", "x", "3000,3000", "4," * 2000 + "4", "1,,2"],
        "--batch": [0, -1, 10**12],
        "--seed": [-1, 2**64],
        "--dropout": ["nan", 1, -0.5],
    }.items():
        for value in values:
            yield case(f"gradcheck {flag} {str(value)[:20]}", "gradcheck", flag, value)
    yield case("gradcheck --batch x", "gradcheck", "--batch", "x", usage=True)


def recipes_cases(f: Files) -> Iterator[Case]:
    for name in ("nope", "../seed", "", "seed/../best", LONG, "seed.toml"):
        yield case(f"recipes {name[:20]!r}", "recipes", name, usage=True)  # a choice


def sweep_cases(f: Files) -> Iterator[Case]:
    base = (
        "sweep",
        "--data-dir",
        f.data,
        "--root",
        f.root / "sweeps",
        "--name",
        "s",
        "--epochs",
        1,
    )
    for grid in ("lr", "bogus=1", "lr=x", "lr=", "hidden=0", "epochs=1,2=3", "lr=-1,0.1"):
        yield case(f"sweep --grid {grid}", *base, "--grid", grid)
    vary = ("--grid", "hidden=8,16")
    for flag, value, expect in (
        ("--seeds", "-1", "--seeds"),
        ("--seeds", "-3..2", "--seeds"),
        ("--seeds", "5..2", "--seeds"),
        ("--seeds", "x", "--seeds"),
        ("--seeds", "0..99999", "at most 10,000"),
        ("--samples", "-2", "--samples"),
        ("--samples", "0", "--samples"),
        ("--samples", "100000000", "at most 10,000"),
        ("--sample-seed", "-1", "--sample-seed"),
        ("--sample-seed", str(2**64), "--sample-seed"),
        ("--workers", "0", "--workers"),
        ("--threads", "-1", "--threads"),
    ):
        yield case(f"sweep {flag} {value}", *base, *vary, flag, value, expect=expect)
    many = [("--grid", f"{k}=" + ",".join(str(v) for v in range(1, 41))) for k in ("hidden", "epochs", "batch_size")]  # fmt: skip
    yield case("sweep of 64,000 trials", *base[:-2], *(a for pair in many for a in pair), expect="64,000 trials")  # fmt: skip
    for address in ("tcp://127.0.0.1:notaport", "::::", "foo://host:1", "tcp://:8786", "tcp://127.0.0.1:70000", "tcp://127.0.0.1:1"):  # fmt: skip
        expect = "cannot reach" if address == "tcp://127.0.0.1:1" else "not a Dask address"
        yield case(f"sweep --scheduler {address}", *base, *vary, "--scheduler", address, expect=expect)  # fmt: skip
    yield from _edited_sweep_cases(f, base, vary)
    yield case("sweep --range without --samples", *base, "--range", "lr=log:0.001..0.1")
    yield case("sweep --file missing", *base, "--file", f.root / "none.toml")
    yield case("sweep --file not TOML", *base, "--file", f.pictures / "text.png")
    yield case("sweep --lr nan", *base, "--grid", "hidden=8,16", "--lr", "nan")
    yield case("sweep --ema 1", *base, "--grid", "hidden=8,16", "--ema", "1")
    for value in ("-1", "x", "1.5"):
        yield case(f"sweep --ensemble {value}", *base, "--ensemble", value, usage=True)
    for i, value in enumerate(("-1", '"3"', "1.5", "true", "[2]")):
        path = f.root / f"sweep_ensemble_{i}.toml"
        path.write_text(f"ensemble = {value}\n[grid]\nhidden = [8, 16]\n")
        yield case(f"sweep --file ensemble = {value}", *base, "--file", path)


def _edited_sweep_cases(f: Files, base: tuple[Any, ...], vary: tuple[str, ...]) -> Iterator[Case]:
    """Sweep folders whose files were edited by hand: each is one line, naming the file."""
    root = f.root / "edited_sweeps"
    edits: dict[str, tuple[Callable[[Path], None], str]] = {
        "diverged.json {}": (lambda t: (t / "diverged.json").write_text("{}"), "damaged"),
        "diverged.json [1]": (lambda t: (t / "diverged.json").write_text("[1]"), "damaged"),
        "diverged.json not JSON": (lambda t: (t / "diverged.json").write_text("{"), "not valid JSON"),
        "config.json []": (lambda t: (t / "config.json").write_text("[]"), "not an nnfun config"),
        "history.json {}": (lambda t: (t / "history.json").write_text("{}"), ""),
    }  # fmt: skip
    for i, (name, (edit, expect)) in enumerate(edits.items()):
        trial = root / f"e{i}" / "hidden-8_seed-0"
        trial.mkdir(parents=True, exist_ok=True)  # the cases are listed more than once
        edit(trial)
        if name.startswith("history"):
            continue  # a history.json is only read for progress: not an error
        argv = (*base[:3], "--root", root, "--name", f"e{i}", *base[7:], *vary)
        yield case(f"sweep folder with {name}", *argv, expect=expect)
    (root / "file").mkdir(exist_ok=True)
    (root / "file" / "hidden-8_seed-0").write_text("not a folder")
    yield case("sweep trial folder replaced by a file", *base[:3], "--root", root, "--name", "file", *base[7:], *vary, expect="is a file")  # fmt: skip
    (root / "whole").write_text("not a folder")
    yield case("sweep folder replaced by a file", *base[:3], "--root", root, "--name", "whole", *base[7:], *vary, expect="is a file")  # fmt: skip
    path = f.root / "sweep_unknown.toml"
    path.write_text('colour = "blue"\n[grid]\nhidden = [8, 16]\n')
    yield case("sweep --file with an unknown key", *base, "--file", path, expect="unknown key")


def serve_cases(f: Files) -> Iterator[Case]:
    for name, model in _model_paths(f):
        if name != "outputs_5.npz":  # a model of digits 0-4 is served: not a bad input
            yield case(f"serve model {name}", "serve", model, "--port", 0)
    yield case("serve a missing run", "serve", f.root / "none")
    yield case("serve a picture", "serve", f.pictures / "text.png")
    for name, model in _model_paths(f):  # a bad second member of an ensemble
        yield case(f"serve ensemble with {name}", "serve", f.run, model, "--port", 0)
    for port in ("-1", "70000"):
        yield case(f"serve --port {port}", "serve", f.run, "--port", port, usage=True)  # a range


def export_cases(f: Files) -> Iterator[Case]:
    target = f.root / "exported.onnx"
    for name, model in _model_paths(f):
        if name != "outputs_5.npz":  # a model of digits 0-4 exports like any other
            yield case(f"export model {name}", "export", model, target)
    for name, path in (
        ("over the model", f.run / "model.npz"),
        ("without .onnx", f.root / "model"),
        ("under a file", f.root / "a_file" / "m.onnx"),
        ("a long name", f.root / f"{LONG}.onnx"),
        ("into a folder", f.run),
    ):
        yield case(f"export {name}", "export", f.run, path)
    yield case("export without a target", "export", f.run, usage=True)


CASES: dict[str, Callable[[Files], Iterator[Case]]] = {
    "export": export_cases,
    "sweep": sweep_cases,
    "serve": serve_cases,
    "train": train_cases,
    "eval": eval_cases,
    "predict": predict_cases,
    "report": report_cases,
    "compare": compare_cases,
    "gradcheck": gradcheck_cases,
    "recipes": recipes_cases,
}
"""Every command's bad inputs."""
