"""Mixed-precision (fp16) variants of the stages, for GPUs.

TensorRT 11 builds only strongly typed networks (no `BuilderFlag.FP16`), so reduced precision has to
be in the ONNX graph itself; a strongly typed network from such a graph builds the same on TensorRT
10.x (Jetson) and 11.x. The conversion is onnxconverter-common's float16 converter with
keep_io_types (every stage input and output stays float32, so the runtime feeds both variants the
same arrays) and a node block list. Which nodes stay float32 is decided per stage:

- by op type: normalisations (their sums of squares overflow fp16 long before their results do),
  the timestep embedding's trigonometry, and the converter's own list (Resize, Range, ...);
- by declaration: the VAE decoder when the checkpoint's own config says `force_upcast`;
- by measurement: the fp32 graph is run on the parity examples with every intermediate exposed, and
  any node that reads or writes a value above `data_max` in magnitude stays float32 (fp16 ends at
  65504; GPT-2's and ViT-H's large residual activations are caught here, on the real weights);
- by parity: the converted graph runs on ONNX Runtime's CPU provider against the fp32 PyTorch
  reference. A stage out of tolerance is converted again with the cautious policy (softmax and the
  activations in fp32 too, a lower data_max); still out of tolerance, it stays fp32 and the
  manifest says why.

What the CPU check sees and does not: the fp16 weights, and fp16 rounding wherever a tensor is
stored in fp16 between ops with CPU fp16 kernels. ONNX Runtime's CPU provider runs ops that lack an
fp16 kernel in fp32 behind inserted casts and merges neighbouring ones, so a value that would
overflow *between* two such ops on a GPU can pass here (tests/test_tensorrt.py shows one). Overflow
is therefore guarded by measurement (every value above data_max, 32x below fp16's limit, stays fp32
by construction), and the GPU tests compare TensorRT's fp16 engines with ONNX Runtime fp32 on the box.

onnxconverter-common rather than NVIDIA ModelOpt AutoCast: ModelOpt's ONNX extra pins onnx 1.21 and
onnxruntime-gpu 1.24 and pulls cupy, which neither installs beside this project's onnx/onnxruntime
nor belongs on a CPU export machine.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper

log = logging.getLogger(__name__)

FP16_TOLERANCE = 5e-2  # relative L2 per stage against the fp32 PyTorch reference (rel max: 10x, as every row)
FP16_MAX = 65504.0
NORM_OPS = frozenset({"LayerNormalization", "InstanceNormalization", "GroupNormalization", "ReduceL2",
                      "ReduceMean", "ReduceSumSquare", "Pow", "Sqrt", "Reciprocal"})
EMBEDDING_OPS = frozenset({"Sin", "Cos", "Exp", "Range"})
FLOAT_TYPES = (TensorProto.FLOAT,)
PROBE_BATCH = 256  # intermediate values fetched per ONNX Runtime run while measuring (bounds memory on ViT-H)


@dataclass(frozen=True)
class Fp16Policy:
    name: str
    data_max: float  # a node reading or writing a larger |value| on the examples stays fp32
    fp32_ops: frozenset


POLICIES = (
    Fp16Policy("default", 2048.0, NORM_OPS | EMBEDDING_OPS),
    Fp16Policy("cautious", 256.0, NORM_OPS | EMBEDDING_OPS | {"Softmax", "Gelu", "Erf", "Tanh"}),
)


@dataclass
class Conversion:
    """What one conversion kept in fp32, for the manifest's precision table."""

    policy: str
    nodes: int
    fp32_nodes: int
    measured: int  # of which kept by measurement (data_max)
    scoped: int  # of which kept by declaration (a module scope such as the VAE)
    largest: float  # the largest |value| measured anywhere in the fp32 graph
    fp32_scopes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        return {"policy": self.policy, "nodes": self.nodes, "fp32_nodes": self.fp32_nodes, "measured": self.measured,
                "scoped": self.scoped, "largest_activation": self.largest, "fp32_scopes": list(self.fp32_scopes)}


def _typed(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every value of a weightless copy of `model` (shape inference on the weights
    would hit protobuf's 2 GB limit on ViT-H)."""
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in list(g.value_info) + list(g.input) + list(g.output)}
    types.update({t.name: t.data_type for t in g.initializer})
    return types


def _weightless(path: Path) -> onnx.ModelProto:
    return onnx.load(str(path), load_external_data=False)


def activation_ranges(path: Path, feeds: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """max |value| of every float intermediate of the fp32 graph at `path`, over all `feeds`.
    Runs ONNX Runtime's CPU provider on a copy of the graph that exposes the intermediates, written
    beside the original so its external-data references still resolve."""
    import onnxruntime as ort

    model = _weightless(path)
    types = _typed(model)
    outputs = {o.name for o in model.graph.output}
    names = [v for n in model.graph.node for v in n.output if v and types.get(v) in FLOAT_TYPES and v not in outputs]
    ranges: dict[str, float] = {}
    for start in range(0, len(names), PROBE_BATCH):
        chunk = names[start:start + PROBE_BATCH]
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        probe.graph.output.extend(helper.make_tensor_value_info(v, TensorProto.FLOAT, None) for v in chunk)
        fd, tmp = tempfile.mkstemp(suffix=".probe.onnx", dir=path.parent)
        os.close(fd)
        try:
            onnx.save(probe, tmp)
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every value
            options.log_severity_level = 3
            session = ort.InferenceSession(tmp, options, providers=["CPUExecutionProvider"])
            for feed in feeds:
                for name, value in zip(chunk, session.run(chunk, feed)):
                    finite = np.abs(value[np.isfinite(value)]) if value.size else np.zeros(1)
                    top = float(finite.max()) if finite.size else 0.0
                    if not np.all(np.isfinite(value)):
                        top = float("inf")
                    ranges[name] = max(ranges.get(name, 0.0), top)
            del session
        finally:
            os.unlink(tmp)
    for feed in feeds:  # graph inputs count as values a first node reads
        for name, value in feed.items():
            if value.dtype == np.float32:
                ranges[name] = max(ranges.get(name, 0.0), float(np.abs(value).max()))
    return ranges


def _scopes(node: onnx.NodeProto) -> list[str]:
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                import ast

                return [str(s) for s in ast.literal_eval(prop.value)]
            except (ValueError, SyntaxError):
                return []
    return []


def in_scope(node: onnx.NodeProto, scope: str) -> bool:
    """Whether the dynamo exporter recorded `node` as coming from the torch module `scope` (e.g. 'vae')."""
    return any(s == scope or s.startswith(scope + ".") for s in _scopes(node))


def choose_fp32_nodes(model: onnx.ModelProto, policy: Fp16Policy, ranges: dict[str, float],
                      fp32_scopes: tuple[str, ...]) -> tuple[list[str], int, int]:
    """The node names to keep in fp32 (beyond policy.fp32_ops), and how many of them were chosen by
    measurement and by scope."""
    blocked, measured, scoped = [], 0, 0
    for node in model.graph.node:
        if node.op_type in policy.fp32_ops:
            continue  # the op block list covers it
        if node.op_type == "Cast" and _cast_to(node) == TensorProto.FLOAT:
            blocked.append(node.name)  # an explicit cast to float (the timestep): the converter would retype only its output
        elif any(in_scope(node, s) for s in fp32_scopes):
            blocked.append(node.name)
            scoped += 1
        elif any(ranges.get(v, 0.0) > policy.data_max for v in list(node.input) + list(node.output)):
            blocked.append(node.name)
            measured += 1
    return blocked, measured, scoped


def _cast_to(node: onnx.NodeProto) -> int | None:
    return next((a.i for a in node.attribute if a.name == "to"), None)


def _name_nodes(model: onnx.ModelProto) -> None:
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)


def convert_fp16(src: Path, dst: Path, policy: Fp16Policy, ranges: dict[str, float],
                 fp32_scopes: tuple[str, ...] = ()) -> Conversion:
    """Writes the mixed-precision graph of `src` to `dst` (+ `dst`.data) and says what stayed fp32."""
    from onnx.external_data_helper import load_external_data_for_model
    from onnxconverter_common.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    model = _weightless(src)
    _name_nodes(model)
    blocked, measured, scoped = choose_fp32_nodes(model, policy, ranges, fp32_scopes)
    ops = set(DEFAULT_OP_BLOCK_LIST) | set(policy.fp32_ops)
    nodes = len(model.graph.node)
    fp32 = sum(1 for n in model.graph.node if n.op_type in ops) + len(blocked)
    model = onnx.shape_inference.infer_shapes(model)  # value types for the converter, without the weights
    load_external_data_for_model(model, str(src.parent))
    converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True, op_block_list=sorted(ops),
                                         node_block_list=blocked, max_finite_val=FP16_MAX, check_fp16_ready=False)
    produced = {v for n in converted.graph.node for v in n.output}
    stale = [v for v in converted.graph.value_info if v.name not in produced]  # renamed by the converter's casts
    for v in stale:
        converted.graph.value_info.remove(v)
    for f in dst.parent.glob(dst.name + ".*"):
        f.unlink()
    onnx.save(converted, str(dst), save_as_external_data=True, all_tensors_to_one_file=True,
              location=dst.name + ".data", size_threshold=1024)
    largest = max((v for v in ranges.values() if np.isfinite(v)), default=0.0)
    log.info("fp16 %s (%s policy): %d of %d nodes kept fp32 (%d measured above %g, %d in %s)", dst.name, policy.name,
             fp32, nodes, measured, policy.data_max, scoped, ", ".join(fp32_scopes) or "no scope")
    return Conversion(policy.name, nodes, fp32, measured, scoped, largest, tuple(fp32_scopes))


def choose_variant(stage: str, src: Path, dst: Path, ranges: dict[str, float], parity: Callable[[Path], list],
                   fp32_scopes: tuple[str, ...] = (), policies: tuple[Fp16Policy, ...] = POLICIES) -> dict:
    """Converts `src` under each policy in turn until `parity(dst)` (ParityRows) passes; the manifest's
    row for the stage. Out of tolerance under every policy: `dst` is removed, the stage stays fp32
    and the row says why."""
    tried = []
    for policy in policies:
        conversion = convert_fp16(src, dst, policy, ranges, fp32_scopes)
        rows = parity(dst)
        tried.append(policy.name)
        if all(r.ok for r in rows):
            break
    entry = {"variant": "fp16", "reason": None, "tolerance": rows[0].tolerance if rows else FP16_TOLERANCE,
             "policies_tried": tried, "conversion": conversion.to_json(), "parity": {r.stage: r.to_json() for r in rows}}
    if not all(r.ok for r in rows):
        worst = max(rows, key=lambda r: r.rel_l2 if np.isfinite(r.rel_l2) else np.inf)
        entry.update(variant="fp32", reason=(
            f"fp16 out of tolerance under every policy ({', '.join(tried)}): {worst.stage} rel L2 {worst.rel_l2:.2e}, "
            f"rel max {worst.rel_max:.2e} (tolerance {worst.tolerance:g}); the GPU runs this stage in fp32"))
        for f in dst.parent.glob(dst.name + "*"):
            f.unlink()
        log.warning("%s: %s", stage, entry["reason"])
    return entry
