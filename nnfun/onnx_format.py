"""The network as an ONNX model, as bytes: a standard graph any ONNX runtime can run.

The graph is the forward pass of `nnfun.network` followed by a softmax:

    pixels (n, 784) -> Gemm(W1, b1) -> Relu -> ... -> Gemm(W_L, b_L) -> Softmax -> probabilities

with `Gemm(x, W, b) = x W + b`. The input is what `nnfun.scale_pixels` gives: float32 grey
values in [0, 1] (pixel / 255), white ink on black, one 28×28 image flattened per row, as
`nnfun.to_mnist` makes them. Weights are stored as float32 (`float64` networks are rounded).

ONNX files are Protocol Buffers. Only a few messages are needed, so they are written here by
hand (`_varint`, `_bytes` and one function per message), which keeps `nnfun export` free of the `onnx`
package and its protobuf dependency; the tests check the result with `onnx.checker` and run it
in `onnxruntime`. Field numbers are those of onnx/onnx.proto.
"""

from __future__ import annotations

import numpy as np

from .params import Params, layer_sizes, num_layers

OPSET = 13
"""The ONNX operator set: Gemm, Relu and Softmax (over the last axis) as of opset 13."""
IR_VERSION = 7
"""The ONNX file-format version that goes with opset 13."""
INPUT, OUTPUT = "pixels", "probabilities"
_FLOAT = 1  # TensorProto.DataType.FLOAT (and TypeProto.Tensor.elem_type)


def to_onnx(params: Params, *, producer_version: str = "") -> bytes:
    """A serialised ONNX ModelProto computing `softmax(forward(params, pixels))`."""
    sizes = layer_sizes(params)
    layers = num_layers(params)
    nodes, weights = [], []
    current = INPUT
    for i in range(1, layers + 1):
        w, b = (np.asarray(params[f"{k}{i}"], dtype="<f4") for k in ("W", "b"))
        weights += [_tensor(f"W{i}", w), _tensor(f"b{i}", b)]
        logits = f"z{i}"
        nodes.append(_node("Gemm", [current, f"W{i}", f"b{i}"], logits, f"dense{i}"))
        current = f"a{i}"
        if i < layers:
            nodes.append(_node("Relu", [logits], current, f"relu{i}"))
    nodes.append(_node("Softmax", [f"z{layers}"], OUTPUT, "softmax", axis=1))
    graph = b"".join(
        [
            *(_bytes(1, n) for n in nodes),
            _bytes(2, b"nnfun"),
            *(_bytes(5, t) for t in weights),
            _bytes(10, _doc(sizes).encode()),
            _bytes(11, _value_info(INPUT, sizes[0])),
            _bytes(12, _value_info(OUTPUT, sizes[-1])),
        ]
    )
    opset = _bytes(1, b"") + _varint_field(2, OPSET)
    return b"".join(
        [
            _varint_field(1, IR_VERSION),
            _bytes(2, b"nnfun"),
            _bytes(3, producer_version.encode()),
            _bytes(7, graph),
            _bytes(8, opset),
        ]
    )


def _doc(sizes: tuple[int, ...]) -> str:
    arch = "-".join(map(str, sizes))
    return (
        f"nnfun MLP {arch}. Input '{INPUT}': (n, {sizes[0]}) float32, grey values in [0, 1] "
        f"(pixel / 255, white ink on black, MNIST-style). Output '{OUTPUT}': (n, {sizes[-1]})."
    )


def _node(op: str, inputs: list[str], output: str, name: str, **ints: int) -> bytes:
    """NodeProto: inputs (1), output (2), name (3), op_type (4), int attributes (5)."""
    attributes = [
        _bytes(1, k.encode()) + _varint_field(3, v) + _varint_field(20, 2) for k, v in ints.items()
    ]
    return b"".join(
        [
            *(_bytes(1, i.encode()) for i in inputs),
            _bytes(2, output.encode()),
            _bytes(3, name.encode()),
            _bytes(4, op.encode()),
            *(_bytes(5, a) for a in attributes),
        ]
    )


def _tensor(name: str, array: np.ndarray) -> bytes:
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    dims = b"".join(_varint_field(1, d) for d in array.shape)
    return dims + _varint_field(2, _FLOAT) + _bytes(8, name.encode()) + _bytes(9, array.tobytes())


def _value_info(name: str, width: int) -> bytes:
    """ValueInfoProto of a float tensor shaped (n, width): a named batch axis, a fixed width."""
    shape = _bytes(1, _bytes(2, b"n")) + _bytes(1, _varint_field(1, width))
    tensor_type = _varint_field(1, _FLOAT) + _bytes(2, shape)
    return _bytes(1, name.encode()) + _bytes(2, _bytes(1, tensor_type))


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint: seven bits per byte, low bits first, high bit = more follows."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _varint_field(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, body: bytes) -> bytes:
    """A length-delimited field (wire type 2): a string, bytes or a nested message."""
    return _varint(field << 3 | 2) + _varint(len(body)) + body
