"""Turn any picture of a digit into an MNIST-style 28×28 image: pure NumPy, no I/O.

A network trained on MNIST has only ever seen one kind of picture:

* white (1.0) ink on a black (0.0) background;
* the digit scaled, keeping its aspect ratio, so that the longer side of its bounding box
  is 20 pixels, with anti-aliased (grey) edges;
* pasted into a 28×28 frame so that its centre of mass sits at pixel (14, 14)
  (row, column, counted from 0), which leaves a margin of about 4 pixels.

A phone photo, a paint-program drawing or a scan breaks every one of these rules: dark ink
on light paper, thousands of pixels, an off-centre digit, a grey or noisy background, a
transparent PNG.  `to_mnist` undoes that, step by step, so the network sees what it knows:

1. `to_grey`: one float channel in [0, 1], whatever the dtype and channels were.  Huge
   photos are first shrunk (block averages) to at most 1024 pixels a side, for speed.
2. Background: the border is mostly background; a smooth surface fitted to it gives the
   background level everywhere, even under a shadow across a photo.
3. Polarity: if the ink is darker than the background (black on white), invert, so ink
   is always bright on zero.  Stretch so the strokes reach 1.0, like MNIST's, and zero
   faint noise.
4. Bounding box of the ink, found on a slightly blurred copy with a threshold relative to
   the ink's peak, so single specks of dust and JPEG ringing do not stretch it.
5. Thin strokes (a 3-pixel brush on a 1000-pixel canvas) would shrink to a faint hair at
   20 pixels; they are thickened to a typical MNIST pen width first.
6. Area-averaging (box-filter) resampling so the box's longer side becomes 20 pixels: each
   output pixel is the mean of the input area it covers, which is the anti-aliasing that
   makes small images look smooth rather than jagged.
7. Centre of mass to (14, 14) by a whole-pixel shift, as the original MNIST process did.

(MNIST's own test digits have their centre of mass at (13.99, 14.00) on average.)

Limits: one digit per picture; the picture's border must be background (crop a photo to
the paper: a dark table around white paper would be taken for the background, and the
paper for ink); strokes of very uneven darkness lose their faint parts to the noise floor.

Every function here is pure: it never modifies its argument and returns a new array.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from . import raster
from .errors import NnfunError
from .grey import FloatImage, to_grey

MNIST_SIZE = 28
"""Side of an MNIST image, in pixels."""
MNIST_BOX = 20
"""The longer side of the digit's bounding box in an MNIST image, in pixels."""
MNIST_CENTRE = 14.0
"""Row and column (0-based pixel index) of the centre of mass in an MNIST image."""

MAX_WORK_SIDE = 1024
"""Larger images are first shrunk by an integer factor: plenty for a 20-pixel result."""
MIN_CONTRAST = 0.05
"""Ink must differ from the background by this much (of full scale) to count as ink."""
BOX_THRESHOLD = 0.2
"""A pixel belongs to the bounding box when it reaches this fraction of the ink's peak."""
NOISE_FLOOR = 0.05
"""After stretching, ink fainter than this (or than 4 × the border's noise) is zeroed."""
THIN_STROKE = 0.05
"""Strokes narrower than this fraction of the box's longer side get thickened..."""
TARGET_STROKE = 0.10
"""...to this fraction.  Measured on MNIST with `raster.stroke_width`: median 0.11, 1 % of digits
below 0.065, none of the first thousand test digits below 0.056."""


def to_mnist(image: npt.ArrayLike) -> FloatImage:
    """Return a float32 (28, 28) MNIST-style version of a picture of one digit, in [0, 1].

    `image` is anything `to_grey` accepts, of any size: a 4000×3000 photo of a digit on
    paper, a drawing on a transparent canvas, or an MNIST digit (which comes back nearly
    unchanged).  The steps are listed in this module's docstring.  A picture with no ink
    (blank, uniform or pure faint noise) gives all zeros: "nothing written" is an answer.
    """
    grey = _shrink(to_grey(image), MAX_WORK_SIDE)
    blank = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    if grey.size == 0:
        return blank
    ink, noise = _ink_layer(grey)
    if ink is None:
        return blank
    blur = raster.odd(min(ink.shape) // 100)
    smooth = raster.box_blur(ink, blur) if blur > 1 else ink
    peak = float(smooth.max())
    mask = smooth >= BOX_THRESHOLD * peak
    # Stroke level: most stroke pixels are fully inked, so a high percentile of the ink
    # inside the mask is the level that should become 1.0 (robust to a few hot pixels).
    # (A lone bright pixel in a big image blurs into a mask it barely fills: use its value.)
    level = float(np.percentile(ink[mask], 90)) or float(ink.max())
    if level < MIN_STROKE_CONTRAST:  # the darkest "strokes" are the paper's own grain
        return blank
    ink = np.clip(ink / level, 0.0, 1.0)
    floor = max(NOISE_FLOOR, 4.0 * noise / level)
    ink = np.where(ink >= floor, ink, 0.0)
    box = raster.bbox(mask)
    if box is None or not _is_digit(ink):
        return blank
    ink, box = _thicken(ink, box)
    if box[1] <= box[0] or box[3] <= box[2]:
        return blank
    patch = _resample_into_box(ink, box, MNIST_BOX, MNIST_SIZE)
    return _centre_by_mass(patch, MNIST_SIZE, MNIST_CENTRE)


INK_CONTRAST = 0.2
"""A pixel is ink when it differs from the picture's typical (median) level by this much..."""
MIN_INK_PIXELS = 4
"""...and a picture holds a digit when at least this many pixels are ink."""


def has_ink(image: npt.ArrayLike) -> bool:
    """True when `image` holds something to read; False for a blank page or an all-zero array.

    Meant for what the network is about to read (the output of `to_mnist`, which is all zeros
    when it found no ink, or a raw 28×28 input): a network always answers with some digit, even
    for an empty picture, so callers should say "no digit found" instead when this is False.
    Ink is any pixel at least `INK_CONTRAST` above or below the median level, so uniform grey,
    white and black pictures are blank, whatever their polarity.
    """
    grey = to_grey(image)
    if grey.size == 0:
        return False
    contrast = np.abs(grey - np.median(grey))
    return int(np.count_nonzero(contrast >= INK_CONTRAST)) >= MIN_INK_PIXELS


def is_mnist_like(image: npt.ArrayLike, *, dark_below: float = 0.1) -> bool:
    """True when `image` already looks like an MNIST digit: 28×28 with a dark background.

    "Dark background" means the median of the 2-pixel border is below `dark_below` and some
    pixel is bright (there is ink).  Such an image can go to the network as it is; anything
    else should go through `to_mnist` first.  The image must still be centred and sized like
    MNIST for good results: that is the caller's assumption when they pass a 28×28 array.
    """
    array = np.asarray(image)
    if array.shape[:2] != (MNIST_SIZE, MNIST_SIZE) or array.ndim not in (2, 3):
        return False
    try:
        grey = to_grey(array)
    except NnfunError:
        return False
    return float(np.median(raster.border(grey, 2))) < dark_below and float(grey.max()) > 0.5


# --- the steps ----------------------------------------------------------------------------


def _shrink(grey: FloatImage, max_side: int) -> FloatImage:
    """Average f×f blocks so that the longer side is at most `max_side` (f a whole number).

    Up to f-1 rows/columns at the bottom/right edge are dropped: they are background.
    """
    factor = math.ceil(max(grey.shape, default=0) / max_side)
    if factor <= 1:
        return grey
    h, w = grey.shape[0] // factor, grey.shape[1] // factor
    blocks = grey[: h * factor, : w * factor].reshape(h, factor, w, factor)
    shrunk: FloatImage = blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
    return shrunk


def _background(grey: FloatImage) -> tuple[FloatImage, float]:
    """The background as a smooth surface fitted to the border, and the noise around it.

    The border is assumed to be mostly background (paper, or MNIST's black).  A phone photo
    is rarely lit evenly: a shadow or vignetting makes the paper darker on one side, so a
    single level will not do.  A quadratic surface c0 + c1·y + c2·x + c3·y² + c4·y·x + c5·x²
    is fitted to the border pixels by least squares, three times, each time keeping only
    the pixels near the last fit (so strokes touching the edge, or dust, do not count); the
    first "fit" is the border's median.  On an evenly
    lit background the fit is simply the constant level.

    The noise is the robust spread of the border around the surface: 1.4826 × the median
    absolute deviation, which equals the standard deviation for Gaussian noise but ignores
    the outliers.
    """
    h, w = grey.shape
    ring = raster.ring(grey.shape, max(1, min(h, w) // 20))
    rows, cols = np.nonzero(ring)
    # A few thousand border pixels pin down six coefficients; more only cost time.
    stride = max(1, rows.size // 4000)
    rows, cols = rows[::stride], cols[::stride]
    values = grey[rows, cols].astype(np.float64)
    if min(h, w) < 8:  # too small for a surface: one level
        level = float(np.median(values))
        noise = 1.4826 * float(np.median(np.abs(values - level)))
        return np.full(grey.shape, level, dtype=np.float32), noise
    # Coordinates scaled to [-1, 1] keep the least-squares problem well conditioned.
    y = np.linspace(-1.0, 1.0, h)
    x = np.linspace(-1.0, 1.0, w)
    yy, xx = y[rows], x[cols]
    design = np.stack([np.ones_like(yy), yy, xx, yy * yy, yy * xx, xx * xx], axis=1)
    # Start from the pixels near the median: a robust first guess even when strokes run
    # along a tightly cropped edge (least squares alone would bend towards them).
    level = float(np.median(values))
    noise = 1.4826 * float(np.median(np.abs(values - level)))
    keep = np.abs(values - level) <= max(3.0 * noise, 0.02)
    coef = np.array([level, 0.0, 0.0, 0.0, 0.0, 0.0])
    for _ in range(3):
        if np.count_nonzero(keep) < 2 * design.shape[1]:
            break  # too few background pixels left for a surface: keep the last fit
        coef = raster.least_squares(design[keep], values[keep])
        residual = values - np.einsum("ij,j->i", design, coef)
        noise = 1.4826 * float(np.median(np.abs(residual[keep])))
        keep = np.abs(residual) <= max(3.0 * noise, 0.02)
    c = coef
    surface = (c[0] + c[1] * y[:, None] + c[2] * x[None, :] + c[3] * (y * y)[:, None]) + (
        c[4] * y[:, None] * x[None, :] + c[5] * (x * x)[None, :]
    )
    return surface.astype(np.float32), noise


def _ink_layer(grey: FloatImage) -> tuple[FloatImage | None, float]:
    """Bright ink on a zero background, plus the noise in the same units; None if blank.

    Against the fitted `_background`, the ink is whichever extreme, darker or lighter,
    stands out farther.  Light ink (MNIST's own white on black) is simply the excess over
    the background.  Dark ink on paper is the fraction of light it absorbs,
    (background - grey) / background: lighting multiplies, so in a shadow both paper and
    ink are darker, and this ratio is the same there as in full light.
    """
    background, noise = _background(grey)
    residual = grey - background
    darker = -float(residual.min())
    lighter = float(residual.max())
    if max(darker, lighter) < max(MIN_CONTRAST, 5.0 * noise):
        return None, noise
    if darker <= lighter:
        return np.clip(residual, 0.0, None).astype(np.float32), noise
    paper = np.maximum(background, MIN_CONTRAST)
    ink = np.clip(-residual / paper, 0.0, None).astype(np.float32)
    return ink, noise / float(np.median(paper))


MIN_STROKE_CONTRAST = 0.1
"""Strokes take at least this fraction of the light off the paper (a faint pencil takes 0.2);
a blank page's sensor noise and JPEG blocks, stretched, would otherwise pass for ink."""
MIN_SPAN = 0.1
"""A digit's strokes span at least this fraction of the picture's longer side (a speck does not),"""
MIN_STROKE_PIXELS = 16
"""cover at least this many pixels (an MNIST digit covers 22 or more),"""
MIN_FILL = 0.005
"""and fill at least this fraction of their box: sensor noise and JPEG blocks scatter thinly."""
OUTLIERS = 1.0
"""Percent of stroke pixels at each edge left out of the box: dust does not stretch it."""


def _is_digit(ink: FloatImage) -> bool:
    """Whether the ink (stretched so strokes are near 1) holds strokes that could be a digit.

    The strokes are the pixels at half the stroke level or more; their box is taken between
    the `OUTLIERS` percentiles of their rows and columns, so a few specks far away do not
    count. A blank page's noise, a JPEG's blocks or one speck of dust fail one of the tests.
    """
    rows, cols = np.nonzero(ink >= 0.5)
    if rows.size < MIN_STROKE_PIXELS:
        return False
    low, high = OUTLIERS, 100.0 - OUTLIERS
    top, bottom = np.percentile(rows, [low, high])
    left, right = np.percentile(cols, [low, high])
    height, width = bottom - top + 1, right - left + 1
    inside = (rows >= top) & (rows <= bottom) & (cols >= left) & (cols <= right)
    span = max(height, width) >= MIN_SPAN * max(ink.shape)
    return span and np.count_nonzero(inside) >= MIN_FILL * height * width


def _thicken(
    ink: FloatImage, box: tuple[int, int, int, int]
) -> tuple[FloatImage, tuple[int, int, int, int]]:
    """Widen strokes that would be hair-thin at MNIST scale; return the ink and its new box.

    MNIST pens are about a ninth of the box's longer side wide.  A thin pen on a large canvas
    would end up a fraction of a pixel wide and faint after scaling to 20 pixels; the
    network has never seen that.  A grey-level dilation (`raster.max_filter`) brings such strokes
    to `TARGET_STROKE` of the box; ordinary strokes are left alone.
    """
    top, bottom, left, right = box
    extent = max(bottom - top, right - left)
    width = raster.stroke_width(ink[top:bottom, left:right] >= 0.5)
    if width >= THIN_STROKE * extent:
        return ink, box
    grow = max(1, round(TARGET_STROKE * extent - width))
    half = grow // 2 + 1
    top, left = max(0, top - half), max(0, left - half)
    bottom, right = min(ink.shape[0], bottom + half), min(ink.shape[1], right + half)
    # Dilate a crop (with room to grow) rather than the whole picture, and drop what lies
    # outside it: other marks far from the digit are not part of it.
    thick = raster.max_filter(ink[top:bottom, left:right], grow + 1)
    return thick, raster.bbox(thick >= BOX_THRESHOLD) or (0, 0, 0, 0)


def _resample_into_box(
    ink: FloatImage, box: tuple[int, int, int, int], box_side: int, size: int
) -> FloatImage:
    """Scale the ink inside `box` so its longer side spans `box_side` pixels of a size×size.

    The box is centred in the frame, its top-left corner on a whole-pixel boundary (as in
    MNIST's 20×20 box); the shorter side keeps the aspect ratio.  A fringe of one output pixel
    around the box comes along, for the anti-aliased edge; anything farther is dropped.
    """
    top, bottom, left, right = box
    step = max(bottom - top, right - left) / box_side  # input pixels per output pixel
    fringe = math.ceil(step)
    rows = slice(max(0, top - fringe), min(ink.shape[0], bottom + fringe))
    cols = slice(max(0, left - fringe), min(ink.shape[1], right + fringe))
    crop = ink[rows, cols].astype(np.float64)
    margin = (size - box_side) / 2

    def start(lo: int, hi: int, origin: int) -> float:
        # Output pixel u covers input [lo + (u - margin - centring) * step, ...) (in crop
        # coordinates, hence `- origin`).  `centring` is in whole pixels: a half-pixel
        # offset would only blur a digit that is already sharp.
        centring = (box_side - round((hi - lo) / step)) // 2
        return lo - origin - (margin + centring) * step

    patch = raster.area_resample(crop, size, start(top, bottom, rows.start), step, axis=0)
    patch = raster.area_resample(patch, size, start(left, right, cols.start), step, axis=1)
    return np.clip(patch, 0.0, 1.0).astype(np.float32)


def _centre_by_mass(patch: FloatImage, size: int, centre: float) -> FloatImage:
    """Shift `patch` by whole pixels so its centre of mass is nearest (centre, centre).

    The centre of mass is the intensity-weighted mean pixel index.  Whatever the shift pushes
    past the frame's edge is lost (only a very lopsided digit loses anything).
    """
    out = np.zeros((size, size), dtype=np.float32)
    total = float(patch.sum())
    if total <= 0.0:
        return out
    index = np.arange(size)
    dy = round(centre - float(patch.sum(axis=1) @ index) / total)
    dx = round(centre - float(patch.sum(axis=0) @ index) / total)
    src_r, dst_r = slice(max(0, -dy), min(size, size - dy)), slice(max(0, dy), min(size, size + dy))
    src_c, dst_c = slice(max(0, -dx), min(size, size - dx)), slice(max(0, dx), min(size, size + dx))
    out[dst_r, dst_c] = patch[src_r, src_c]
    return out
