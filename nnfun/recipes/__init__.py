"""Recipes in one place: the settings of a run, what they build, and the TOML they are kept in.

`settings` holds the `Config` (one value per setting, checked once), `builders` turns a config
into the parts `nnfun.fit` takes, `toml_text` reads and writes settings as TOML, and `files`
reads the recipes shipped here (`seed.toml`, `best.toml`) and a user's own settings file.
"""

from .builders import (
    FitOptions,
    build_augmentation,
    build_optimizer,
    build_regularisation,
    build_schedule,
    check_state,
    fit_config,
    fit_options,
    init_network,
    split_data,
)
from .files import describe, load_config_file, load_recipe, recipe_names, recipe_text
from .settings import OPTIMIZERS, SCHEDULES, Config, OptimizerName, ScheduleName
from .toml_text import parse_settings, to_toml

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Config",
    "FitOptions",
    "OptimizerName",
    "ScheduleName",
    "build_augmentation",
    "build_optimizer",
    "build_regularisation",
    "build_schedule",
    "check_state",
    "describe",
    "fit_config",
    "fit_options",
    "init_network",
    "load_config_file",
    "load_recipe",
    "parse_settings",
    "recipe_names",
    "recipe_text",
    "split_data",
    "to_toml",
]
