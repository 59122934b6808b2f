"""`nnfun export`: a trained network as an ONNX file, to run it outside nnfun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnfun.inference import check_fits
from nnfun.io.models import export_onnx, load_model
from nnfun.onnx_format import INPUT, OPSET, OUTPUT
from nnfun.params import layer_sizes
from nnfun_cli.options import ModelPath
from nnfun_cli.shell import out, user_errors


def export(
    model: ModelPath,
    target: Annotated[
        Path, typer.Argument(metavar="OUT", help="The ONNX file to write (name ends in .onnx).")
    ],
) -> None:
    """Write the network as an ONNX model (Gemm, Relu and Softmax, opset 13) for any ONNX runtime.

    Input `pixels`: (n, 784) float32 grey values in [0, 1], pixel / 255, white ink on black,
    as nnfun scales MNIST (`nnfun.to_mnist` prepares a photo). Output `probabilities`: (n, 10).
    """
    with user_errors():
        params = load_model(model)
        check_fits(params, 28 * 28)  # the input is documented as MNIST's: 784 pixels
        written = export_onnx(params, target)
    sizes = layer_sizes(params)
    out.print(f"{written}: {'-'.join(map(str, sizes))} as ONNX (opset {OPSET})")
    out.print(
        f'input "{INPUT}" ({sizes[0]} floats per image, pixel / 255), '
        f'output "{OUTPUT}" ({sizes[-1]})'
    )
