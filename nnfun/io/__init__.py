"""nnfun's input and output, apart from the pure core: datasets, models, checkpoints, run folders.

Nothing in the core (`nnfun/*.py`) imports this package; it imports the core.
"""

from .checkpoints import load_checkpoint, save_checkpoint
from .datasets import Dataset, load_dataset, load_test_set, resolve_data_dir
from .files import atomic_write_bytes, read_json, write_json
from .fitting import fit_in_folder
from .images import read_image, read_images
from .models import export_onnx, load_model, save_model
from .runs import Run, load_run
from .samples import samples

__all__ = [
    "Dataset",
    "Run",
    "atomic_write_bytes",
    "export_onnx",
    "fit_in_folder",
    "load_checkpoint",
    "load_dataset",
    "load_model",
    "load_run",
    "load_test_set",
    "read_image",
    "read_images",
    "read_json",
    "resolve_data_dir",
    "samples",
    "save_checkpoint",
    "save_model",
    "write_json",
]
