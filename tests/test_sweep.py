"""`nnfun sweep` end to end, in real processes: the local engine, a Dask LocalCluster with a worker
killed mid-trial, and a Ctrl-C followed by a rerun. Every engine must give the same numbers.

All sweeps here are the same 2x2 grid of tiny networks on 8,000 MNIST images, with one BLAS
thread per worker: the thread count changes the last bits of a matrix product, so it is pinned.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import limit_memory
from typer.testing import CliRunner

from nnfun.io.datasets import load_dataset
from nnfun_cli.app import app
from nnfun_cli.sweep.trial import epochs_done

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

TRIALS = [
    f"hidden-{h}_lr-{lr}_seed-0" for h in (32, 64) for lr in (0.02, 0.05)
]  # the folder names the grid below gives, in grid order
GRID = ["--grid", "hidden=32,64", "--grid", "lr=0.02,0.05"]
BASE = ["--epochs", "4", "--batch-size", "16", "--val-size", "500", "--threads", "1"]
runner = CliRunner()


def sweep_process(data: Path, root: Path, *extra: str) -> subprocess.Popen[str]:
    """`nnfun sweep` of the test grid as its own process (a real Ctrl-C needs one)."""
    return subprocess.Popen(
        [sys.executable, "-m", "nnfun", "sweep", *GRID, *BASE, "--data-dir", str(data)]
        + ["--root", str(root), "--name", "grid", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=limit_memory,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=180)
    return process.returncode, out, err


def results(sweep_dir: Path) -> dict[str, Any]:
    """Every trial's metrics and history, without the wall-clock times."""
    found = {}
    for name in TRIALS:
        metrics = orjson.loads((sweep_dir / name / "metrics.json").read_bytes())
        history = orjson.loads((sweep_dir / name / "history.json").read_bytes())
        metrics.pop("train_seconds")
        found[name] = (metrics, [{k: v for k, v in r.items() if k != "seconds"} for r in history])
    return found


@pytest.fixture(scope="module")
def local_sweep(small_mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the grid on the local engine with 2 workers (figures on)."""
    root = tmp_path_factory.mktemp("local")
    code, out, err = finish(sweep_process(small_mnist, root, "--workers", "2"))
    assert code == 0, err
    assert "Traceback" not in err and "4 trials (0 finished, 0 diverged, 0 partial, 4 new)" in err
    assert "2 local worker(s) x 1 BLAS thread(s)" in err
    assert "ranked by validation accuracy" in out
    return root / "grid"


def test_local_sweep_writes_run_folders_and_a_validation_ranking(local_sweep: Path) -> None:
    for name in TRIALS:
        for file in ("config.json", "config.toml", "history.json", "metrics.json", "model.npz"):
            assert (local_sweep / name / file).is_file(), (name, file)
        assert (local_sweep / name / "checkpoint.npz").is_file()
    assert (local_sweep / "sweep.png").stat().st_size > 10_000
    summary = orjson.loads((local_sweep / "sweep.json").read_bytes())
    assert summary["varied"] == ["hidden", "lr"] and summary["base"]["epochs"] == 4
    best_vals = [c["best_val_accuracy"]["mean"] for c in summary["configurations"]]
    assert best_vals == sorted(best_vals, reverse=True) and summary["best"]["rank"] == 1
    for trial in summary["trials"]:
        history = orjson.loads((local_sweep / trial["name"] / "history.json").read_bytes())
        assert trial["best_val_accuracy"] == max(r["val_accuracy"] for r in history)
    assert sorted(t["name"] for t in summary["trials"]) == sorted(TRIALS)


def test_trial_folders_are_ordinary_runs(local_sweep: Path) -> None:
    result = runner.invoke(app, ["compare", "--json", *(str(local_sweep / t) for t in TRIALS)])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["report", "--no-figures", str(local_sweep / TRIALS[0])])
    assert result.exit_code == 0 and "test accuracy" in result.stdout


def test_rerun_skips_every_finished_trial(local_sweep: Path, small_mnist: Path) -> None:
    before = {t: (local_sweep / t / "model.npz").stat().st_mtime_ns for t in TRIALS}
    code, out, err = finish(sweep_process(small_mnist, local_sweep.parent, "--no-figures"))
    assert code == 0 and "4 trials (4 finished, 0 diverged, 0 partial, 0 new)" in err
    assert before == {t: (local_sweep / t / "model.npz").stat().st_mtime_ns for t in TRIALS}


def test_ctrl_c_then_rerun_finishes_with_the_same_results(
    local_sweep: Path, small_mnist: Path, tmp_path: Path
) -> None:
    process = sweep_process(small_mnist, tmp_path, "--workers", "1", "--no-figures")
    sweep_dir = tmp_path / "grid"
    deadline = time.monotonic() + 120
    while epochs_done(sweep_dir / TRIALS[1]) != 1 and time.monotonic() < deadline:
        time.sleep(0.005)  # until one trial is done and the next has 3 of its 4 epochs to go
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process)
    assert code == 130, err
    assert "Run the same command again to continue" in err and "Traceback" not in err
    finished = [t for t in TRIALS if (sweep_dir / t / "metrics.json").exists()]
    assert TRIALS[0] in finished and len(finished) < len(TRIALS)
    assert not list(sweep_dir.glob("*/*.tmp"))

    code, _, err = finish(sweep_process(small_mnist, tmp_path, "--workers", "1", "--no-figures"))
    assert code == 0, err
    assert f"4 trials ({len(finished)} finished" in err and "resumed after epoch" in err
    assert results(sweep_dir) == results(local_sweep)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Dask cluster of 2 worker processes, 1 thread each, on 127.0.0.1, set up as docs/sweeps.md says."""
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as local_cluster,
    ):
        yield local_cluster


def test_dask_sweep_gives_the_local_results(
    cluster: Any, local_sweep: Path, small_mnist: Path, tmp_path: Path
) -> None:
    process = sweep_process(small_mnist, tmp_path, "--scheduler", cluster.scheduler_address)
    code, out, err = finish(process)
    assert code == 0, err
    assert "Dask cluster at tcp://127.0.0.1" in err and "ranked by validation accuracy" in out
    assert results(tmp_path / "grid") == results(local_sweep)
    assert not (tmp_path / "grid" / ".sweep-token").exists()


def first_epoch_done(client: Any, sweep_dir: Path) -> tuple[str, str] | None:
    """(worker, trial) for a trial running with 1 of its 4 epochs done: 3 to go, time to kill."""
    for worker, keys in client.processing().items():
        for name in TRIALS:
            if any(name in str(key) for key in keys) and epochs_done(sweep_dir / name) == 1:
                return worker, name
    return None


def test_a_worker_killed_mid_trial_changes_nothing(
    cluster: Any, local_sweep: Path, small_mnist: Path, tmp_path: Path
) -> None:
    with distributed.Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
        process = sweep_process(
            small_mnist, tmp_path, "--scheduler", cluster.scheduler_address, "--no-figures"
        )
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            victim = first_epoch_done(client, tmp_path / "grid")
            time.sleep(0.005)
        assert victim is not None, "no trial was caught between two epochs"
        os.kill(pids[victim[0]], signal.SIGKILL)
        code, _, err = finish(process)
    assert code == 0, err
    assert f"done {victim[1]} (resumed after epoch" in err
    assert results(tmp_path / "grid") == results(local_sweep)


def test_a_worker_without_the_sweep_folder_sends_the_files_back(
    cluster: Any, small_mnist: Path, tmp_path: Path
) -> None:
    from nnfun import Config
    from nnfun_cli.sweep.cluster import remote_trial

    settings = Config(hidden=(8,), epochs=1, val_size=500).to_dict()
    data = load_dataset("mnist", small_mnist)
    run_dir = tmp_path / "elsewhere" / "trial"
    with distributed.Client(cluster.scheduler_address) as client:
        future = client.submit(
            remote_trial, settings, str(run_dir), "not-this-sweep", data, "nnfun-test-stop"
        )
        result = future.result(timeout=120)
    assert result["status"] == "finished" and result["resumed_from"] == 0
    assert {"model.npz", "metrics.json", "history.json", "config.json"} <= set(result["files"])
    assert not run_dir.exists()


def test_a_diverging_trial_is_recorded_and_not_retried(random_data: Path, tmp_path: Path) -> None:
    args = ["sweep", "--grid", "lr=0.01,1e9", "--clip", "0", "--epochs", "1", "--hidden", "8"]
    args += ["--val-size", "100", "--workers", "1", "--threads", "1", "--no-figures"]
    args += ["--data-dir", str(random_data), "--root", str(tmp_path), "--name", "blowup"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "diverged lr-1000000000.0_seed-0: the loss became" in result.stderr
    summary = orjson.loads((tmp_path / "blowup" / "sweep.json").read_bytes())
    assert [t["state"] for t in summary["trials"]] == ["finished", "diverged"]
    assert summary["best"]["settings"] == {"lr": 0.01}
    again = runner.invoke(app, args)
    assert "2 trials (1 finished, 1 diverged, 0 partial, 0 new)" in again.stderr
