"""Ensembles: several networks that answer together by averaging their probabilities.

`p(k | x) = (1/M) sum_m softmax(f_m(x))_k` over the `M` members. Networks trained from other
seeds make partly independent mistakes, so their mean is right more often than any one of them.
Members may differ inside (depth, widths) but must read the same images and tell the same
classes. Everything that uses a model (`predict_proba`, `predict`, `evaluate`, `read_digit`,
`check_fits`) takes a `Model`: one network, or a sequence of them; an ensemble of one is the
network itself, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import checks
from .errors import ModelError
from .losses import log_softmax
from .network import forward
from .params import Params, layer_sizes

Model = Params | Sequence[Params]
"""One network, or the members of an ensemble."""


def members(model: Model, names: Sequence[str] | None = None) -> tuple[Params, ...]:
    """The networks of a model, checked to agree on their inputs and outputs.

    A network alone is an ensemble of one. ModelError names two members that disagree, by
    `names` (e.g. their files) or as `model 1`, `model 2`, ...
    """
    if isinstance(model, Mapping):
        checks.network(model, "model")
        return (model,)
    if not isinstance(model, Sequence) or isinstance(model, str | bytes):
        raise ModelError(
            f"model must be a network (W1, b1, ...) or a list of them, got {checks.show(model)}"
        )
    nets = tuple(model)
    if not nets or not all(isinstance(n, Mapping) for n in nets):
        raise ModelError(
            "model: an ensemble is a non-empty sequence of networks (mappings of arrays)"
        )
    labels = list(names) if names is not None else [f"model {i + 1}" for i in range(len(nets))]
    for net, label in zip(nets, labels, strict=True):
        checks.network(net, label)
    first = _ends(nets[0])
    for net, label in zip(nets[1:], labels[1:], strict=True):
        if _ends(net) != first:
            raise ModelError(
                f"{label} reads {_ends(net)[0]} values into {_ends(net)[1]} classes, but "
                f"{labels[0]} reads {first[0]} into {first[1]}: an ensemble's models must agree"
            )
    return nets


def _ends(params: Params) -> tuple[int, int]:
    sizes = layer_sizes(params)
    return sizes[0], sizes[-1]


def log_proba(nets: Sequence[Params], x: np.ndarray) -> np.ndarray:
    """`log p(k | x)` of the ensemble: `logsumexp_m log softmax(f_m(x)) - log M`, never overflowing.

    For one member this is `log_softmax(f(x))` exactly (the max of one value is itself).
    """
    logs = np.stack([log_softmax(forward(net, x)) for net in nets])
    top = logs.max(axis=0)
    total = np.exp(logs - top).sum(axis=0)
    return top + np.log(total) - math.log(len(nets))
