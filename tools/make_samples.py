"""Draw the sample digits shipped in `nnfun/samples/`, the same bytes on every run.

    python tools/make_samples.py          # rewrites nnfun/samples/*.pgm and *.ppm

Each digit is a few pen strokes (polylines in a unit square) rendered with anti-aliased
edges: the distance from each pixel to the nearest stroke, against the pen's radius. Two
looks, as people bring them to `nnfun predict`:

* drawn: black marker on white, as from a paint program;
* photographed: blue ballpoint on cream paper, lit unevenly, slightly tilted, with sensor
  noise, in colour.

and a blank page (photographed paper, no ink), which must get "no digit found". The files
are Netpbm (PGM grey, PPM colour): nnfun reads them without Pillow, so the samples work in
the smallest install. Randomness comes from one seeded generator, so the bytes never change;
`tests/test_samples.py` checks that the shipped files are exactly what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parent.parent / "nnfun" / "samples"

Stroke = list[tuple[float, float]]
"""(x, y) points in [0, 1]², y downwards; consecutive points are joined by straight lines."""


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float) -> Stroke:
    """Points along an ellipse from angle `start` to `stop` (degrees, clockwise from 3 o'clock)."""
    angles = np.radians(np.linspace(start, stop, 24))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


DIGITS: dict[str, list[Stroke]] = {
    "seven": [[(0.22, 0.18), (0.78, 0.18), (0.42, 0.88)]],
    "two": [arc(0.5, 0.34, 0.24, 0.2, 200, 380) + [(0.26, 0.84), (0.78, 0.84)]],
    "three": [arc(0.48, 0.31, 0.22, 0.15, 210, 450), arc(0.48, 0.64, 0.25, 0.2, 270, 500)],
    "four": [[(0.6, 0.86), (0.6, 0.14), (0.24, 0.62), (0.8, 0.62)]],
    "zero": [arc(0.5, 0.5, 0.24, 0.36, 0, 360)],
}


def render(strokes: list[Stroke], size: int, pen: float, tilt: float = 0.0) -> np.ndarray:
    """Ink coverage in [0, 1] on a `size`×`size` canvas; `pen` is the radius as a fraction of it."""
    points = [np.array(s) for s in strokes]
    if tilt:
        turn = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
        points = [(p - 0.5) @ turn.T + 0.5 for p in points]
    centres = (np.arange(size) + 0.5) / size
    grid = np.stack(np.meshgrid(centres, centres), axis=-1)  # (row, col) -> (x, y)
    distance = np.full((size, size), np.inf)
    for stroke in points:
        for a, b in zip(stroke[:-1], stroke[1:], strict=True):
            along = np.clip(((grid - a) @ (b - a)) / max(float((b - a) @ (b - a)), 1e-12), 0, 1)
            nearest = a + along[..., None] * (b - a)
            distance = np.minimum(distance, np.linalg.norm(grid - nearest, axis=-1))
    return np.clip((pen - distance) * size + 0.5, 0.0, 1.0)  # a one-pixel anti-aliased edge


def drawn(name: str) -> np.ndarray:
    """Black marker on white paper, grey, 128×128."""
    ink = render(DIGITS[name], 128, pen=0.045)
    return np.round(255 * (1 - ink)).astype(np.uint8)


def photographed(name: str | None, rng: np.random.Generator) -> np.ndarray:
    """Ballpoint on cream paper under a lamp at the top left, 4° of tilt, noise; RGB, 160×120."""
    height, width = 120, 160
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    light = 1.0 - 0.28 * np.hypot(rows, cols) / np.sqrt(2)  # brighter near the lamp
    paper = np.array([236, 228, 205], dtype=np.float64) * light[..., None]
    picture = paper
    if name is not None:
        ink = np.zeros((height, width))
        side = 100
        top, left = (height - side) // 2, (width - side) // 2 + 6
        ink[top : top + side, left : left + side] = render(DIGITS[name], side, 0.03, tilt=0.07)
        pen = np.array([38, 52, 120], dtype=np.float64)
        picture = paper * (1 - 0.9 * ink[..., None]) + pen * 0.9 * ink[..., None]
    noisy = picture + rng.normal(0.0, 4.0, picture.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def netpbm(image: np.ndarray) -> bytes:
    """Binary PGM (P5) for a grey image, PPM (P6) for RGB, maxval 255."""
    kind = b"P6" if image.ndim == 3 else b"P5"
    return b"%s\n%d %d\n255\n" % (kind, image.shape[1], image.shape[0]) + image.tobytes()


def samples() -> dict[str, bytes]:
    """Every sample file's name and bytes."""
    rng = np.random.default_rng(21)
    return {
        "seven-drawn.pgm": netpbm(drawn("seven")),
        "two-drawn.pgm": netpbm(drawn("two")),
        "three-drawn.pgm": netpbm(drawn("three")),
        "four-photo.ppm": netpbm(photographed("four", rng)),
        "zero-photo.ppm": netpbm(photographed("zero", rng)),
        "blank-page.ppm": netpbm(photographed(None, rng)),
    }


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, body in samples().items():
        (FOLDER / name).write_bytes(body)
        print(f"{FOLDER / name}: {len(body):,} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
