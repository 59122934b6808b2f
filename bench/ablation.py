"""The ablation: the seed recipe, then each extension added on its own, then the best recipe.

Runs `nnfun train` once per row (sequentially: the machine has two cores) and prints a Markdown
table of test accuracy, best validation accuracy, epochs and training time, read from each run's
metrics.json and history.json. Choices in the recipes were made on validation accuracy; the test
column is only reported.

    python bench/ablation.py --data-dir ../shared/data --out results/ablation
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROWS: list[tuple[str, list[str]]] = [
    ("seed recipe (784-1024-10, SGD, step decay)", []),
    ("+ second hidden layer (1024,1024)", ["--hidden", "1024,1024"]),
    ("+ dropout 0.25", ["--dropout", "0.25"]),
    (
        "+ augmentation (shift 2, rotate 10, scale 0.1, elastic 34/6)",
        [
            "--shift",
            "2",
            "--rotate",
            "10",
            "--scale",
            "0.1",
            "--elastic-alpha",
            "34",
            "--elastic-sigma",
            "6",
        ],
    ),
    (
        "+ AdamW (lr 1e-3, decoupled decay 1e-4) instead of SGD",
        ["--optimizer", "adamw", "--lr", "0.001"],
    ),
    (
        "+ Nesterov, lr 0.05, cosine decay, 2 warm-up epochs",
        ["--optimizer", "nesterov", "--lr", "0.05", "--schedule", "cosine", "--warmup", "2"],
    ),
    ("+ label smoothing 0.1", ["--label-smoothing", "0.1"]),
    (
        "best recipe (two layers, Nesterov + cosine, label smoothing, augmentation; 250 epochs)",
        ["--recipe", "best"],
    ),
]


def run(name: str, flags: list[str], out: Path, data_dir: str) -> dict[str, object]:
    folder = out / name.split(" (")[0].strip("+ ").replace(" ", "-").replace(",", "")
    if not (folder / "metrics.json").exists():
        command = [
            sys.executable,
            "-m",
            "nnfun",
            "train",
            "--data-dir",
            data_dir,
            "--out",
            str(folder),
            *flags,
        ]
        print("$", " ".join(command[1:]), flush=True)
        subprocess.run(command, check=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    history = json.loads((folder / "history.json").read_text())
    best = max(history, key=lambda r: r["val_accuracy"])
    return {
        "name": name,
        "flags": " ".join(flags) or "(defaults)",
        "test": metrics["test_accuracy"],
        "best_val": best["val_accuracy"],
        "epochs": len(history),
        "seconds": metrics["train_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--out", type=Path, default=Path("results/ablation"))
    parser.add_argument("--only", type=int, nargs="*", help="row numbers to run (default: all)")
    args = parser.parse_args()
    rows = [r for i, r in enumerate(ROWS) if not args.only or i in args.only]
    results = [run(name, flags, args.out, args.data_dir) for name, flags in rows]
    print(
        "\n| configuration | flags | test accuracy | best val accuracy | epochs | training time |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['name']} | `{r['flags']}` | {r['test']:.2%} | {r['best_val']:.2%} | {r['epochs']} "
            f"| {r['seconds'] / 60:.1f} min |"
        )


if __name__ == "__main__":
    main()
