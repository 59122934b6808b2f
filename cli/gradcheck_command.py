"""`nnfun gradcheck`: backprop against numerical derivatives, on a small float64 network."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

import nnfun
from nnfun.errors import ConfigError
from nnfun.gradient_check import check_options, extended_precision
from nnfun_cli.options import in_flag_terms, json_option
from nnfun_cli.shell import FAILED, emit_json, err, out, parse_ints, user_errors
from nnfun_cli.tables import titled


def gradcheck(
    sizes: Annotated[
        str, typer.Option(help="Layer widths of the test network, input to output.")
    ] = "32,16,16,10",
    batch: Annotated[int, typer.Option(help="Random inputs in the test batch.")] = 8,
    eps: Annotated[float, typer.Option(help="Step of the central differences.")] = 1e-6,
    tolerance: Annotated[float, typer.Option(help="Largest acceptable relative error.")] = 1e-7,
    dropout: Annotated[
        float, typer.Option(help="Check with a fixed dropout mask of this rate.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the weights and inputs.")] = 0,
    json: Annotated[bool, json_option("the errors")] = False,
) -> None:
    """Check backprop against numerical derivatives on a small float64 network, every parameter.

    Exits with 1 if any relative error exceeds the tolerance.
    """
    with user_errors():
        widths = parse_ints(sizes, "--sizes")
        try:
            check_options(widths, batch, eps, tolerance, dropout, seed)
        except ConfigError as exc:  # the core names its arguments; here they are flags
            raise in_flag_terms(exc, {exc.setting: True}) from None
        rng = np.random.default_rng(seed)
        params = nnfun.init_params(widths, rng, np.float64)
        x = rng.random((batch, widths[0]))
        y = rng.integers(0, widths[-1], batch)
        masks = (
            nnfun.dropout_masks(widths, batch, rng, rate=dropout, dtype=np.float64)
            if dropout
            else None
        )
        errors = nnfun.gradcheck(params, x, y, eps=eps, masks=masks)
        if not extended_precision():
            err.print(
                "note: no extended precision (np.longdouble is float64 here): expect ~1e-5 errors"
            )
    worst = max(errors.values())
    passed = worst <= tolerance
    if json:
        emit_json({"errors": errors, "max_error": worst, "tolerance": tolerance, "passed": passed})
    else:
        table = Table()
        for column in ("parameter", "shape", "max relative error", ""):
            table.add_column(column, justify="right" if column != "" else "left")
        for name, error in errors.items():
            table.add_row(
                name,
                "x".join(map(str, params[name].shape)),
                f"{error:.2e}",
                Text("ok", "green") if error <= tolerance else Text("FAIL", "bold red"),
            )
        out.print(titled(f"Gradient check, network {sizes}, float64, eps {eps:g}", table))
        out.print(
            Text.assemble(
                ("passed", "green") if passed else ("failed", "bold red"),
                f": largest error {worst:.2e} (tolerance {tolerance:.0e})",
            )
        )
    if not passed:
        raise typer.Exit(FAILED)
