"""One trial of a sweep: an ordinary run folder trained to completion, resumed from its checkpoint.

`run_trial` is the only place a sweep trains; both engines call it inside their worker processes.
It writes what `nnfun train --no-figures --out RUN` writes (config, checkpoint and history after
every epoch, then model and metrics), so `eval`, `report` and `compare` work on every trial.
Run as `python -m nnfun_cli.sweep.trial SETTINGS_JSON RUN_DIR DATA_DIR` it is a local worker.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson

from nnfun import Config
from nnfun.errors import DivergedError, NnfunError
from nnfun.io.datasets import Dataset, load_dataset
from nnfun.io.files import read_json, write_json
from nnfun.io.fitting import fit_in_folder
from nnfun.io.runs import CHECKPOINT, CONFIG_JSON, HISTORY, METRICS, MODEL
from nnfun_cli.progress import Interrupted, StopFlag, ctrl_c_stops_at_next_batch
from nnfun_cli.shell import BAD_INPUT, DIVERGED, INTERRUPTED

DIVERGED_FILE = "diverged.json"  # a trial whose loss blew up: deterministic, so never retried

TrialState = Literal["finished", "diverged", "partial", "new"]


def trial_state(run_dir: Path) -> TrialState:
    """How far a trial's folder got: finished (model and metrics), diverged, partial (a checkpoint), new."""
    if (run_dir / METRICS).is_file() and (run_dir / MODEL).is_file():
        return "finished"
    if (run_dir / DIVERGED_FILE).is_file():
        return "diverged"
    return "partial" if (run_dir / CHECKPOINT).is_file() else "new"


def diverged_message(run_dir: Path) -> str:
    """Why the trial diverged, from its `diverged.json`; a one-line NnfunError if that was edited."""
    record = read_json(run_dir / DIVERGED_FILE)
    if not isinstance(record, dict) or not isinstance(record.get("error"), str):
        raise NnfunError(
            f'{run_dir / DIVERGED_FILE} is damaged (expected {{"error": "..."}}); '
            "delete it to run that trial again"
        )
    return str(record["error"])


def epochs_done(run_dir: Path) -> int:
    """Finished epochs according to the folder's history.json (0 when there is none yet)."""
    try:
        history = orjson.loads((run_dir / HISTORY).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return 0
    return len(history) if isinstance(history, list) else 0


def saved_config(run_dir: Path) -> Config | None:
    """The settings a trial folder was started with, or None for a folder without config.json."""
    if not (run_dir / CONFIG_JSON).is_file():
        return None
    saved = read_json(run_dir / CONFIG_JSON)
    if not isinstance(saved, dict):
        raise NnfunError(f"{run_dir / CONFIG_JSON} is not an nnfun config")
    saved.pop("nnfun_version", None)
    return Config.from_dict(saved)


def never() -> bool:
    """The default `should_stop`: train to the last epoch."""
    return False


def run_trial(
    settings: Mapping[str, Any],
    run_dir: Path,
    data: Dataset,
    should_stop: Callable[[], bool] = never,
) -> dict[str, Any]:
    """Train `settings` into `run_dir` to the last epoch and return its metrics.json content.

    A finished folder is returned as it is; a checkpoint is continued, which gives the same result
    as an uninterrupted run (every random draw is keyed on seed and epoch). `should_stop` is asked
    at every batch; when it says yes, `Interrupted` is raised with the last epoch saved. A
    diverging loss writes diverged.json and raises DivergedError.
    """
    config = Config.from_dict(settings)
    state = trial_state(run_dir)
    if state == "finished":
        return dict(read_json(run_dir / METRICS))
    if state == "diverged":
        raise DivergedError(diverged_message(run_dir))
    if saved_config(run_dir) not in (None, config):
        raise NnfunError(f"{run_dir} holds a run with other settings; move it away first")

    def on_batch(i: int, total: int, loss: float) -> None:
        if should_stop():
            raise Interrupted

    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return fit_in_folder(config, run_dir, data, on_batch=on_batch)[0]
    except DivergedError as exc:
        write_json(run_dir / DIVERGED_FILE, {"error": str(exc), "epochs": epochs_done(run_dir)})
        raise


def main(argv: list[str]) -> int:
    """Local worker: train one trial; exit 0 done, 3 diverged, 130 stopped by Ctrl-C, 2 error."""
    flag = StopFlag()
    try:
        settings, run_dir, data_dir = orjson.loads(argv[0]), Path(argv[1]), Path(argv[2])
        with ctrl_c_stops_at_next_batch(flag):
            data = load_dataset(settings["dataset"], data_dir, download_missing=False)
            run_trial(settings, run_dir, data, should_stop=lambda: flag.requested)
    except (Interrupted, KeyboardInterrupt):
        return INTERRUPTED
    except DivergedError as exc:
        print(exc, file=sys.stderr)
        return DIVERGED
    except NnfunError as exc:
        print(exc, file=sys.stderr)
        return BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
