"""Every bad input ends in one line on stderr and exit 1, 2 or 3: no traceback, no file touched.

The corpus (tests/corpus.py) holds a few hundred bad command lines across every command; each
is run in-process and checked against a snapshot of the whole corpus folder. Signals need real
processes: SIGTERM, Ctrl-C in the first epoch, a second Ctrl-C, Ctrl-C during start-up, and
two writers of one run folder. Hypothesis feeds the settings parser and the npz reader.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from conftest import limit_memory
from corpus import CASES, Case, Files, build, npz_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nnfun
from nnfun.io.runs import CHECKPOINT
from nnfun.recipes import Config, parse_settings, to_toml
from nnfun.serialize import checkpoint_from_npz, checkpoint_to_npz, params_from_npz
from nnfun.train import BLOWN_UP, EpochRecord, divergence
from nnfun_cli.app import app

runner = CliRunner()


def _train(data: Path, out: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--no-figures", "--data-dir", str(data), "--out", str(out)]
        + ["--epochs", "2", "--hidden", "8", "--val-size", "100", "--lr", "0.05"],
    )
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return build(tmp_path_factory.mktemp("corpus"), _train)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root` (links not followed): size and modification time."""
    seen = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            info = os.lstat(os.path.join(folder, name))
            seen[os.path.join(folder, name)] = (info.st_size, info.st_mtime_ns)
    return seen


def problems(case: Case, root: Path) -> list[str]:
    """What is wrong with how the command handled this bad input (nothing, if it held)."""
    before = snapshot(root)
    result = runner.invoke(app, list(case.argv))
    after = snapshot(root)
    found = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        found.append(f"raised {type(result.exception).__name__}: {result.exception}")
    if result.exit_code not in (1, 2, 3):
        found.append(f"exit code {result.exit_code}")
    if "Traceback" in result.stderr:
        found.append("a traceback")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if case.usage:  # Typer's own box around the message
        if not any(
            word in result.stderr for word in ("Invalid value", "No such option", "Missing")
        ):
            found.append("no usage message")
    elif not lines or not lines[-1].startswith("error: ") or (len(lines) > 1 and not case.started):
        found.append(f"{len(lines)} lines on stderr")
    if case.expect and case.expect not in result.stderr:
        found.append(f"the message does not say {case.expect!r}")
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        found.append(f"changed {', '.join(os.path.relpath(c, root) for c in changed[:3])}")
    if found:
        last = lines[-1] if lines else result.stdout.strip()[-200:]
        return [f"{case.name}: {'; '.join(found)} | {last[:300]}"]
    return []


@pytest.mark.parametrize("command", sorted(CASES))
def test_every_bad_input_fails_cleanly(
    command: str, files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files.root)  # a run without --out would land in results/ here: seen
    monkeypatch.setenv("COLUMNS", "200")
    cases = list(CASES[command](files))
    assert len(cases) >= 5
    failures = [line for case in cases for line in problems(case, files.root)]
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


# --------------------------------------------------------------------------- messages that matter


def message(*argv: Any) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in argv])
    return result.exit_code, result.stderr


def test_what_the_messages_say(files: Files) -> None:
    """A few refusals whose wording is the point: they name the real problem."""
    expected = [
        (("eval", files.models / "text.npz"), "not a model file (.npz): it is a text file"),
        (("predict", files.models / "picture.npz", files.run), "it is a PNG image"),
        (
            ("eval", files.models / "inputs_100.npz", "--data-dir", files.data),
            "reads images of 100 pixels",
        ),  # fmt: skip
        (("eval", files.models / "outputs_5.npz", "--data-dir", files.data), "has 5 outputs"),
        (("eval", files.models / "bomb.npz"), "more than the"),
        (("train", "--resume", files.run, "--data-dir", files.data), "already finished"),
        (("train", "--resume", files.checkpoints / "resumable", "--out", "x"), "drop --out"),
        (("gradcheck", "--eps", "nan"), "--eps must be a finite number in (0, 1]"),
        (
            (
                "train",
                "--data-dir",
                files.datasets / "top_label_only_in_test",
                "--out",
                files.root / "n",
                "--val-size",
                "100",
            ),
            "no output for it",
        ),  # fmt: skip
        (
            (
                "train",
                "--data-dir",
                files.data,
                "--out",
                files.root / "n",
                "--hidden",
                "100000,100000",
                "--val-size",
                "100",
            ),
            "40.3 GB",
        ),  # fmt: skip
    ]
    for argv, needle in expected:
        code, err = message(*argv)
        assert code in (1, 2, 3) and needle in err, (argv, err)


def test_divergence_in_epoch_1_says_nothing_was_saved(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, err = message(
        "train", "--no-figures", "--data-dir", files.data, "--out", out, "--val-size", "100",
        "--hidden", "8", "--lr", "1e6", "--epochs", "3",
    )  # fmt: skip
    assert code == 3 and "far above" in err and "before anything was saved" in err, err
    assert "checkpoint" not in err and "--lr 100000" in err and not out.exists()


def test_divergence_later_names_the_last_good_checkpoint(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, err = message(
        "train", "--no-figures", "--data-dir", files.data, "--out", out, "--val-size", "100",
        "--hidden", "8", "--epochs", "3", "--milestones", "1", "--gamma", "1e6",
    )  # fmt: skip
    assert code == 3 and "epoch 2 is" in err, err
    assert f"the last good checkpoint, after epoch 1, is in {out}" in err and "--resume" not in err
    assert len(orjson.loads((out / "history.json").read_bytes())) == 1


def test_memory_is_checked_before_training() -> None:
    """The estimate counts weights, optimizer state and a batch; a small machine refuses up front."""
    from nnfun.io.datasets import Dataset
    from nnfun.io.preflight import check_trainable, training_bytes

    x = np.zeros((200, 784), np.uint8)
    y = np.arange(200, dtype=np.uint8) % 10
    data = Dataset(x, y, x[:10], y[:10])
    config = Config(hidden=(4096, 4096), val_size=10)
    need = training_bytes(config, 784, 10, 190)
    weights = 784 * 4096 + 4096 * 4096 + 4096 * 10
    assert 4 * 4 * weights < need < 4 * 8 * weights  # float32 weights, a few copies of each
    check_trainable(config, data, memory=10 * need)
    with pytest.raises(nnfun.ConfigError, match="needs about .* of memory"):
        check_trainable(config, data, memory=need)


# --------------------------------------------------------------------------- divergence


def record(epoch: int, loss: float, accuracy: float) -> EpochRecord:
    return EpochRecord(epoch, 0.1, loss, accuracy, loss, accuracy, 1.0)


def test_divergence_catches_blow_ups_and_dead_runs_but_not_learning() -> None:
    assert divergence([record(1, 1e19, 0.8)], 10) is not None  # lr 1e6: finite, and lost
    assert divergence([record(1, math.nan, 0.1)], 10) is not None
    dead = [record(e, 2.302, 0.11) for e in (1, 2, 3)]
    assert divergence(dead[:2], 10) is None and divergence(dead, 10) is not None
    assert divergence(dead, 10, steps_per_epoch=4) is None  # 12 steps on a tiny set: too early
    assert divergence([record(e, 0.0, 1.0) for e in (1, 2, 3)], 1) is None  # a single class
    seed, best = record(1, 0.437, 0.88), record(1, 2.05, 0.34)  # epoch 1 of the two recipes
    assert divergence([seed], 10) is None and divergence([best], 10) is None


@pytest.mark.parametrize("name", ["seed", "best"])
def test_shipped_recipes_never_look_diverged(name: str, mnist: dict[str, np.ndarray]) -> None:
    """Epoch 1 of each shipped recipe, on 3,000 real digits: far from the blow-up line."""
    from nnfun.recipes import load_recipe

    config = Config.from_dict({**load_recipe(name), "epochs": 1, "val_size": 0})
    x, y = mnist["train-images-idx3-ubyte"][:3000].reshape(3000, -1), mnist["train-labels-idx1-ubyte"][:3000]  # fmt: skip
    state = next(nnfun.recipes.fit_config(config, x, y, x[:0], y[:0]))
    assert state.history[0].train_loss < BLOWN_UP * math.log(10) / 2


# --------------------------------------------------------------------------- hypothesis

names = [f.name for f in Config.__dataclass_fields__.values()] + ["colour"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(names), json_values, max_size=5))
def test_settings_are_a_config_or_a_config_error(values: dict[str, Any]) -> None:
    try:
        config = Config.from_dict(values)
    except nnfun.ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    settings_back = parse_settings(to_toml(config.to_dict()), "round trip")
    assert Config.from_dict(settings_back) == config


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_toml_text_is_settings_or_a_config_error(text: str) -> None:
    with contextlib.suppress(nnfun.ConfigError):
        Config.from_dict(parse_settings(text, "text"))


PARAMS = nnfun.init_params((6, 4, 3), np.random.default_rng(0))
MODEL = npz_bytes(**PARAMS)
CHECKPOINT_BYTES = checkpoint_to_npz(
    nnfun.TrainState(1, PARAMS, nnfun.sgd_init(PARAMS), (record(1, 1.0, 0.5),)),
    Config(hidden=(4,)).to_dict(),
)


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """The bytes with a few flipped, cut short, or spliced with random bytes."""
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    tail = draw(st.binary(max_size=40)) if draw(st.booleans()) else bytes(data[cut:])
    return bytes(data[:cut]) + tail


@settings(max_examples=400, deadline=None)
@given(st.one_of(damaged(MODEL), st.binary(max_size=300)))
def test_the_npz_reader_returns_a_network_or_a_model_error(data: bytes) -> None:
    try:
        params = params_from_npz(data, max_bytes=1 << 20)
    except nnfun.ModelError as exc:
        assert "\n" not in str(exc)
        return
    assert nnfun.layer_sizes(params)[0] >= 1


@settings(max_examples=300, deadline=None)
@given(damaged(CHECKPOINT_BYTES))
def test_the_checkpoint_reader_returns_a_state_or_a_model_error(data: bytes) -> None:
    with contextlib.suppress(nnfun.ModelError):
        checkpoint_from_npz(data, max_bytes=1 << 20)


# --------------------------------------------------------------------------- signals


def nnfun_process(*args: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nnfun", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=limit_memory,
    )


def slow_run(files: Files, out: Path) -> subprocess.Popen[str]:
    return nnfun_process(
        "train", "--no-figures", "--data-dir", files.data, "--out", out, "--val-size", "100",
        "--hidden", "256", "--batch-size", "4", "--epochs", "50",
    )  # fmt: skip


def wait_for(condition: Any, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def test_sigterm_stops_like_ctrl_c(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = slow_run(files, out)
    wait_for(lambda: (out / CHECKPOINT).exists())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert f"Resume with: nnfun train --resume {out}" in err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no lock, no temp file


def test_one_writer_per_run_folder(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = slow_run(files, out)
    wait_for(lambda: (out / ".lock").exists())
    for argv in (
        ("train", "--data-dir", files.data, "--out", out, "--val-size", "100", "--lr", "0.1"),
        ("train", "--resume", out, "--data-dir", files.data),
    ):
        code, err = message(*argv)
        assert code == 2 and "in use by another nnfun process" in err, err
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130 and "Traceback" not in err, err


def test_a_resume_removes_the_temp_files_of_killed_writes(files: Files, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(files.checkpoints / "resumable", run)
    stale = [run / ".checkpoint.npz.k3j_x8ab.tmp", run / ".history.json.0a9_zz.tmp"]
    for path in stale:
        path.write_bytes(b"half written by a process killed with SIGKILL")
    keep = run / ".notes.txt.tmp"  # not one of nnfun's files: left alone
    keep.write_text("mine")
    code, err = message("train", "--resume", run, "--data-dir", files.data, "--no-figures")
    assert code == 0, err
    assert not any(p.exists() for p in stale) and keep.exists()


def test_ctrl_c_in_epoch_1_leaves_nothing_and_says_so(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = slow_run(files, out)
    wait_for(lambda: (out / "config.json").exists())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "before anything was saved" in err and "--resume" not in err
    assert not out.exists()


def test_a_second_ctrl_c_stops_at_once_with_a_message(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = slow_run(files, out)
    wait_for(lambda: (out / CHECKPOINT).exists())
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted")
    assert "saved in" in err and not list(out.glob(".*"))


def test_ctrl_c_during_start_up_is_one_line(files: Files) -> None:
    """Interrupted while NumPy, Rich and Typer are being imported: no traceback."""
    script = Path(sys.executable).with_name("nnfun")  # the console script, as people run it
    if not script.exists():
        pytest.skip("the nnfun console script is not installed beside this Python")
    proc = subprocess.Popen(
        [str(script), "eval", str(files.run), "--data-dir", str(files.data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit_memory,
    )
    maps = Path(f"/proc/{proc.pid}/maps")
    if not maps.exists():
        proc.kill()
        pytest.skip("needs /proc to see the start-up")
    wait_for(lambda: proc.poll() is not None or "numpy" in maps.read_text(), timeout=30)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert proc.returncode == 130 or proc.returncode == 0, err  # 0: it finished first
