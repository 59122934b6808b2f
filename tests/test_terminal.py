"""The command line in terminals, pipes and scripts: literal text, no wrapping into pipes, quiet
broken pipes, 80 columns, NO_COLOR and TERM=dumb, JSON documents, choices, blank input, and
commands that need only the files they use.

Most checks run `nnfun` as a real process with stdout piped and COLUMNS=80, as a script sees it;
`FORCE_COLOR=1` makes Rich treat the pipe as a terminal, for what a person sees.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import orjson
import pytest
from conftest import limit_memory
from typer.testing import CliRunner

from nnfun.io import datasets
from nnfun_cli.app import app
from nnfun_cli.compare_command import short_labels
from nnfun_cli.digit_art import SHADES

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]")


def nnfun(
    *args: str | Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`nnfun ARGS` as a process: stdout and stderr piped, 80 columns unless `env` says otherwise."""
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    environment |= {"COLUMNS": "80", "TERM": "xterm-256color", **env}
    return subprocess.run(
        [sys.executable, "-m", "nnfun", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        preexec_fn=limit_memory,
    )


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def run(random_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny finished run (no figures) in a folder whose name holds Rich markup."""
    folder = tmp_path_factory.mktemp("runs") / "run[bold]"
    code, out, err = invoke(
        "train", "--data-dir", random_data, "--out", folder, "--no-figures",
        "--epochs", "2", "--hidden", "16", "--val-size", "100",
    )  # fmt: skip
    assert code == 0, err
    assert f"training 784-16-10 on mnist into {folder}" in err
    assert out.splitlines()[-1] == str(folder)
    return folder


def digit_png(path: Path, ink: bool = True) -> Path:
    """A dark 7-ish stroke on white paper (or a blank page), as a PNG."""
    from PIL import Image

    page = np.full((60, 60), 255, dtype=np.uint8)
    if ink:
        page[10:14, 12:48] = 0
        for row in range(14, 52):
            page[row, 44 - (row - 14) // 2 : 48 - (row - 14) // 2] = 0
    Image.fromarray(page).save(path)
    return path


# --------------------------------------------------------------------------- 1. literal text


def test_user_text_is_never_read_as_markup(
    run: Path, random_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digit_png(tmp_path / "three[draft].png")
    (tmp_path / "bad[red].png").write_text("not an image")
    code, out, err = invoke(
        "predict", run, tmp_path / "three[draft].png", tmp_path / "bad[red].png"
    )
    assert code == 1 and "three[draft].png" in out and "bad[red].png" in err
    code, out, _ = invoke("predict", run, tmp_path / "three[draft].png", "--show")
    assert code == 0 and "three[draft].png: " in out
    code, out, _ = invoke("report", run, "--no-figures")
    assert code == 0 and f"{run}:" in out.splitlines()[0]
    code, _, err = invoke("eval", run, "--data-dir", tmp_path / "data[x]", "--dataset", "d[red]")
    assert code == 2 and "data[x]" in err and "'d[red]'" in err
    code, _, err = invoke("train", "--config", tmp_path / "cfg[bold].toml")
    assert code == 2 and "cfg[bold].toml" in err
    code, _, err = invoke("gradcheck", "--sizes", "8,[red]4")
    assert code == 2 and "'8,[red]4'" in err
    other = shutil.copytree(run, tmp_path / "other[red]")
    code, out, _ = invoke("compare", run, other)
    assert code == 0 and "run[bold]" in out and "other[red]" in out

    import builtins

    real_import = builtins.__import__

    def no_pillow(name: str, *args: object, **kwargs: object) -> object:
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    code, _, err = invoke("predict", run, tmp_path / "three[draft].png")
    assert code == 1 and "pip install 'nnfun[images]'" in err


# --------------------------------------------------------------------------- 2. pipes


def test_piped_lines_are_never_wrapped(random_data: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / ("a-long-folder-name-" * 4) / "run-with-a-long-name"
    result = nnfun(
        "train", "--data-dir", random_data, "--out", out_dir, "--no-figures",
        "--epochs", "1", "--hidden", "8", "--val-size", "100",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(str(out_dir)) > 80
    last = result.stdout.splitlines()[-1]  # what `nnfun train | tail -1` gives
    assert last == str(out_dir)
    assert result.stderr.splitlines()[-1].startswith("model.npz, metrics.json, history.json and")
    assert f"training 784-8-10 on mnist into {out_dir}" in result.stderr.splitlines()
    report = nnfun("report", out_dir, "--no-figures")
    assert report.returncode == 0 and report.stdout.startswith(f"{out_dir}: 784-8-10 on mnist\n")


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "RUN", "--data-dir", "DATA"],
        ["eval", "RUN", "--data-dir", "DATA", "--json"],
        ["report", "RUN", "--no-figures"],
        ["compare", "RUN", "RUN"],
        ["gradcheck"],
        ["recipes", "best"],
        ["train", "--help"],
    ],
)
def test_a_closed_pipe_ends_quietly_with_success(
    run: Path, random_data: Path, args: list[str]
) -> None:
    """`nnfun ... | head -1`: the reader has gone before nnfun writes; not a failure, no noise."""
    argv = [str(run) if a == "RUN" else str(random_data) if a == "DATA" else a for a in args]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "nnfun", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "80"},
            timeout=120,
            preexec_fn=limit_memory,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# --------------------------------------------------------------------------- 3. 80 columns


@pytest.fixture(scope="module")
def three_runs(run: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Copies of `run` named like default run folders, with five settings changed."""
    root = tmp_path_factory.mktemp("cmp") / "results"
    changes = [
        {},
        {"optimizer": "nesterov", "lr": 0.05, "label_smoothing": 0.1, "schedule": "cosine"},
        {"optimizer": "adamw", "lr": 0.001, "weight_decay": 0.0005, "schedule": "cosine"},
    ]
    runs = []
    names = ["20261125-131200", "20261125-131512", "20261125-140001"]
    for name, change in zip(names, changes, strict=True):
        shutil.copytree(run, root / name)
        config = json.loads((root / name / "config.json").read_text())
        (root / name / "config.json").write_text(json.dumps(config | change))
        runs.append(root / name)
    return runs


def test_compare_stays_readable_at_80_columns(three_runs: list[Path]) -> None:
    terminal = nnfun("compare", *three_runs, FORCE_COLOR="1")
    assert terminal.returncode == 0, terminal.stderr
    text = ANSI.sub("", terminal.stdout)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert "…" not in text
    header = next(line for line in lines if "┃" in line)
    for label, path in zip(["131200", "131512", "140001"], three_runs, strict=True):
        assert label in header, text  # a column of the table
        assert f"  {label}: {path}" in lines  # and its legend line
    for setting in ("optimizer", "lr", "weight decay", "schedule", "label smoothing"):
        assert any(line.startswith(f"│ {setting} ") for line in lines), text

    piped = nnfun("compare", *three_runs)  # a pipe: one run per row, full names
    rows = [line for line in piped.stdout.splitlines() if "20261125-" in line]
    assert len(rows) == 3 and all(line.startswith("│ 20261125-1") for line in rows)


def test_short_labels() -> None:
    assert short_labels(["20261125-131200", "20261125-131512"]) == ["131200", "131512"]
    assert short_labels(["lr0.01-seed1", "lr0.05-seed1"]) == ["lr0.01", "lr0.05"]
    assert short_labels(["x/a", "y/a"]) == ["x", "y"]
    assert short_labels(["run", "run-2"]) == ["run", "run-2"]  # "" is no label
    assert short_labels(["a-1", "b-1", "a-1"]) == ["a-1", "b-1", "a-1"]


# --------------------------------------------------------------------------- 4. colour


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_no_color_and_dumb_terminals(
    run: Path, random_data: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    seven = digit_png(tmp_path / "seven.png")
    for args in (
        ["eval", run, "--data-dir", random_data],
        ["report", run, "--no-figures"],
        ["predict", run, seven, "--show"],
    ):
        result = nnfun(*args, FORCE_COLOR="1", **env)
        assert result.returncode == 0, result.stderr
        assert not COLOUR.search(result.stdout + result.stderr), (args, result.stdout)
        if env.get("TERM") == "dumb":
            assert "\x1b" not in result.stdout + result.stderr
    drawing = nnfun("predict", run, seven, "--show", FORCE_COLOR="1", **env).stdout
    assert "▀" not in drawing and "@@" in ANSI.sub("", drawing)
    assert max(len(line) for line in ANSI.sub("", drawing).splitlines()) <= 80


def test_the_drawing_survives_a_pipe(run: Path, tmp_path: Path) -> None:
    seven = digit_png(tmp_path / "seven.png")
    result = nnfun("predict", run, seven, "--show")
    assert result.returncode == 0 and "\x1b" not in result.stdout and "…" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{seven}: ")
    art = [line[:56] for line in lines[1:29]]
    assert all(len(line) == 56 and set(line) <= set(SHADES) for line in art), lines
    assert sum("@" in line for line in art) >= 5  # the strokes are there, row after row
    assert sum(line.rstrip().endswith("%") for line in lines) == 10  # one bar per digit


# --------------------------------------------------------------------------- 5. and 7. predict


def test_predict_json_is_one_document_with_errors_and_blanks(run: Path, tmp_path: Path) -> None:
    seven, blank = digit_png(tmp_path / "seven.png"), digit_png(tmp_path / "blank.png", ink=False)
    np.save(tmp_path / "zeros.npy", np.zeros((28, 28), dtype=np.uint8))
    files = [seven, tmp_path / "missing.png", blank, tmp_path / "zeros.npy"]
    result = nnfun("predict", run, *files, "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)  # one document, as json.load wants it
    assert [p["file"] for p in document["predictions"]] == [str(f) for f in files if f.exists()]
    found, *blanks = document["predictions"]
    assert found["blank"] is False and 0 <= found["digit"] <= 9 and len(found["top3"]) == 3
    assert all(b["blank"] and b["digit"] is None and b["top3"] == [] for b in blanks)
    assert document["errors"] == [
        {
            "file": str(tmp_path / "missing.png"),
            "error": f"{tmp_path / 'missing.png'} does not exist",
        }
    ]
    assert result.stderr == f"error: {tmp_path / 'missing.png'} does not exist\n"

    lines = nnfun("predict", run, *files, "--jsonl").stdout.splitlines()
    records = [orjson.loads(line) for line in lines]
    assert [r["file"] for r in records] == [str(f) for f in files]
    assert "error" in records[1] and records[2]["blank"] is True


def test_predict_table_says_no_digit_found_and_keeps_going(run: Path, tmp_path: Path) -> None:
    seven, blank = digit_png(tmp_path / "seven.png"), digit_png(tmp_path / "blank.png", ink=False)
    result = nnfun("predict", run, tmp_path / "gone.png", seven, blank, tmp_path / "nothere")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'gone.png'} does not exist",
        f"error: {tmp_path / 'nothere'} does not exist",
    ]
    rows = [line for line in result.stdout.splitlines() if str(tmp_path) in line]
    assert len(rows) == 2 and "no digit found" in rows[1] and "%" in rows[0]
    assert nnfun("predict", run, seven).returncode == 0


# --------------------------------------------------------------------------- 6. choices


def test_choices_are_listed_checked_and_completed() -> None:
    code, out, _ = invoke("train", "--help")
    text = " ".join(out.replace("│", " ").split())
    for names in ("sgd (with momentum), nesterov, adam or adamw", "step, cosine, onecycle or"):
        assert names in text
    assert "<best|seed>" in out
    for flag, value in (("--optimizer", "rmsprop"), ("--schedule", "linear"), ("--recipe", "x")):
        code, _, err = invoke("train", flag, value)
        assert code == 2 and f"'{value}' is not one of" in " ".join(err.split())

    def complete(line: str) -> list[str]:
        env = {"_NNFUN_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}
        result = runner.invoke(app, [], prog_name="nnfun", env=env)
        return re.findall(r'"([^"]+)"', result.stdout)

    assert complete("nnfun train --optimizer ") == ["sgd", "nesterov", "adam", "adamw"]
    assert complete("nnfun train --schedule c") == ["cosine", "constant"]
    assert complete("nnfun train --recipe ") == ["best", "seed"]
    assert "mnist" in complete("nnfun train --dataset ")


# --------------------------------------------------------------------------- 8. only what is used


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """MNIST's mirrors point at a local port where nothing listens: any download fails."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (f"http://127.0.0.1:{port}/",))


@pytest.fixture
def test_files_only(random_data: Path, tmp_path: Path) -> Path:
    """A data folder with only the two t10k-* files of `random_data`."""
    (tmp_path / "only" / "mnist").mkdir(parents=True)
    for path in (random_data / "mnist").glob("t10k-*"):
        shutil.copy(path, tmp_path / "only" / "mnist" / path.name)
    return tmp_path / "only"


@pytest.mark.usefixtures("offline")
def test_eval_needs_only_the_test_files(run: Path, test_files_only: Path) -> None:
    code, out, err = invoke("eval", run, "--data-dir", test_files_only, "--json")
    assert code == 0, err
    assert sum(map(sum, orjson.loads(out)["confusion_matrix"])) == 100


@pytest.mark.usefixtures("offline")
def test_report_draws_only_missing_figures(
    run: Path, test_files_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    monkeypatch.setenv("NNFUN_DATA", str(tmp_path / "nowhere"))
    code, out, err = invoke("report", copy)  # all four missing; no test images to be had
    assert code == 0 and "sample_predictions.png not drawn" in err
    assert sorted(p.name for p in copy.glob("*.png")) == [
        "confusion_matrix.png", "per_digit_accuracy.png", "training_curves.png",
    ]  # fmt: skip
    before = {p.name: p.stat().st_mtime_ns for p in copy.glob("*.png")}
    code, out, err = invoke("report", copy, "--data-dir", test_files_only)
    assert code == 0 and "figures drawn in" in out and "sample_predictions.png" in out, err
    assert before == {p.name: p.stat().st_mtime_ns for p in copy.glob("*.png") if p.name in before}
    code, out, err = invoke("report", copy)  # nothing missing: nothing drawn, no data needed
    assert code == 0 and "figures drawn" not in out and err == ""
    code, out, err = invoke("report", copy, "--figures")  # asked for: the test images must come
    assert code == 2 and "\nerror: could not download t10k-images-idx3-ubyte.gz" in err


# --------------------------------------------------------------------------- 11. downloads


@contextmanager
def serve_files(files: dict[str, bytes]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving `files` by name, in small chunks; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path.strip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(0, len(body), 1000):
                self.wfile.write(body[i : i + 1000])
                self.wfile.flush()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def size_pattern(n: int) -> str:
    return f"{n} B" if n < 1000 else rf"{n / 1000:.1f} kB"


def test_downloads_show_file_mirror_bytes_and_rate(
    run: Path, random_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {path.name: path.read_bytes() for path in (random_data / "mnist").glob("t10k-*.gz")}
    sha = {
        name[:-3]: hashlib.sha256(gzip.decompress(body)).hexdigest() for name, body in files.items()
    }
    with serve_files(files) as url:
        monkeypatch.setattr(datasets, "MNIST_MIRRORS", (f"{url}missing/", url))
        monkeypatch.setattr(datasets, "MNIST_SHA256", sha)
        code, out, err = invoke("eval", run, "--data-dir", tmp_path, "--json")
    assert code == 0, err
    host = url.split("/")[2]
    for name, body in files.items():
        assert f"downloading {url}missing/{name}" in err and f"downloading {url}{name}" in err
        line = next(line for line in err.splitlines() if line.startswith(f"  {name}: "))
        summary = rf"  {name}: {size_pattern(len(body))} in [\d.]+ s \(.+/s\) from {host}"
        assert re.fullmatch(summary, line), line
    assert "failed: HTTP 404" in err
    assert orjson.loads(out)["test_accuracy"] >= 0


def test_download_progress_lines_in_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Into a log (not a terminal) a slow download prints its progress every LOG_EVERY seconds."""
    from io import StringIO

    from rich.console import Console

    from nnfun_cli import loading_display

    monkeypatch.setattr(loading_display, "LOG_EVERY", 0.0)
    stream = StringIO()
    console = Console(file=stream, width=200)
    body = bytes(5000)
    with serve_files({"f.gz": body}) as url, loading_display.loading(console, "loading") as shown:
        datasets._fetch(f"{url}f.gz", 5.0, shown.progress)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  0 B of 5.0 kB, 0 B/s"
    assert re.fullmatch(r"  5\.0 kB of 5\.0 kB, .+/s", lines[-2])
    assert lines[-1].startswith("  f.gz: 5.0 kB in ") and lines[-1].endswith(url.split("/")[2])
