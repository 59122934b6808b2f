"""`nnfun serve`: a local web page to draw a digit on and watch the network read it."""

from __future__ import annotations

import errno
import ipaddress
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

import nnfun
from nnfun import Model, Params, layer_sizes
from nnfun.errors import NnfunError
from nnfun.io.files import read_json
from nnfun.io.models import load_models, model_file
from nnfun.io.runs import CONFIG_JSON, METRICS
from nnfun_cli.options import ModelPaths
from nnfun_cli.serve.api import DigitServer
from nnfun_cli.shell import err, out, user_errors

DEFAULT_PORT = 8000
PORTS_TRIED = 100
"""Without --port: the first free one of 8000-8099, else whatever the system offers."""


def serve(
    models: ModelPaths,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; anything but loopback lets other machines in."),
    ] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to listen on (0: any free one).",
            show_default="8000, or the first free one after it",
            min=0,
            max=65535,
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in your web browser.")
    ] = False,
) -> None:
    """Draw a digit in your browser and watch the network read it, live.

    Serves a page with a canvas: as you draw, it shows the predicted digit, the ten
    probabilities and the 28x28 image the network saw after the same MNIST-style
    preprocessing as `nnfun predict`. You can drop an image file on it too. The page uses a
    small JSON API (GET /api/model, POST /api/predict). Ctrl-C stops the server. Several
    models answer together as an ensemble: their probabilities are averaged.
    """
    with user_errors():
        nets = load_models(models)
        nnfun.check_fits(nets, 28 * 28)  # the page sends 28x28 MNIST-style images
        server = listen(host, port, nets, describe_models(nets, models))
    try:
        url = page_url(host, server.server_port)
        if not is_loopback(host):
            err.print(
                Text.assemble(
                    ("warning:", "bold yellow"),
                    f" listening on {host}: anyone who can reach this machine can use the page",
                ),
                highlight=False,
                soft_wrap=True,
            )
        info = server.model_info
        out.print(f"serving {info['architecture']} at {url}  (Ctrl-C to stop)", highlight=False)
        if open_browser and not webbrowser.open(url):
            err.print("no web browser found here: open the address yourself", highlight=False)
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.server_close()


def describe_model(params: Params, model: Path) -> dict[str, Any]:
    """What `GET /api/model` answers: architecture, size, and the run's test accuracy if known."""
    sizes = layer_sizes(params)
    run_dir = model_file(model)[1]
    config = _run_file(run_dir, CONFIG_JSON)
    metrics = _run_file(run_dir, METRICS)
    accuracy = metrics.get("test_accuracy")
    return {
        "name": (run_dir or model).name,
        "architecture": "-".join(map(str, sizes)),
        "layers": list(sizes),
        "parameters": sum(int(v.size) for v in params.values()),
        "dataset": config.get("dataset", "mnist" if run_dir else None),
        "test_accuracy": accuracy if isinstance(accuracy, int | float) else None,
    }


def describe_models(nets: Sequence[Params], paths: Sequence[Path]) -> dict[str, Any]:
    """`describe_model` of one network; for an ensemble, its members joined (test accuracy unknown)."""
    infos = [describe_model(net, path) for net, path in zip(nets, paths, strict=True)]
    if len(infos) == 1:
        return infos[0]
    return {
        "name": f"ensemble of {len(infos)}: " + ", ".join(str(i["name"]) for i in infos),
        "architecture": " + ".join(str(i["architecture"]) for i in infos),
        "layers": infos[0]["layers"],
        "parameters": sum(int(i["parameters"]) for i in infos),
        "dataset": infos[0]["dataset"],
        "test_accuracy": None,
        "members": infos,
    }


def _run_file(run_dir: Path | None, name: str) -> dict[str, Any]:
    """A run folder's JSON file, or {} when there is none or it is unreadable (it only informs)."""
    if run_dir is None:
        return {}
    try:
        value = read_json(run_dir / name)
    except NnfunError:
        return {}
    return value if isinstance(value, dict) else {}


def listen(host: str, port: int | None, params: Model, model_info: dict[str, Any]) -> DigitServer:
    """A server bound to `host:port`, or to the first free port from 8000 when port is None."""
    candidates = (
        [port] if port is not None else [*range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED), 0]
    )
    for candidate in candidates:
        try:
            return DigitServer((host, candidate), params, model_info)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise NnfunError(f"cannot listen on {host}: {exc.strerror or exc}") from None
            if port is not None:
                raise NnfunError(f"port {port} on {host} is taken; choose another --port") from None
    raise NnfunError(f"no free port on {host}")


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1): this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_url(host: str, port: int) -> str:
    """The URL to print: a wildcard address is shown as localhost, IPv6 in brackets."""
    shown = "localhost" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"
