"""Exports one stage to ONNX with torch's dynamo exporter (a third of the legacy exporter's peak
memory on the UNet, one external-data file per stage). Latent length and T5 length stay dynamic;
the batch stays fixed (a dynamic batch fails inside torch.export for the UNet)."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.export import Dim

from engines.specs import StageSpec

log = logging.getLogger(__name__)
OPSET = 20


def _dynamic_shapes(spec: StageSpec) -> tuple:
    dims: dict[str, Dim] = {}
    shapes = []
    for t in spec.inputs:
        axes = {i: dims.setdefault(d, Dim(d, min=2, max=1 << 16)) for i, d in enumerate(t.shape) if isinstance(d, str)}
        shapes.append(axes or None)
    return tuple(shapes)


def _name_outputs(graph, spec: StageSpec) -> None:
    """Gives the graph outputs the spec's names. Done after export because a model may already hold
    an inner value of that name (CLIP has an `embedding`), which output_names would duplicate."""
    outputs = list(graph.outputs)
    taken = set(spec.output_names)
    for name in taken & set(graph.initializers):
        value = graph.initializers.pop(name)
        value.name = f"{name}_inner"
        graph.register_initializer(value)
    for node in graph:
        for value in node.outputs:
            if value.name in taken and value not in outputs:
                value.name = f"{value.name}_inner"
    for value, name in zip(outputs, spec.output_names):
        value.name = name


def export_stage(module: torch.nn.Module, spec: StageSpec, example: dict[str, np.ndarray], out: Path) -> float:
    """Writes `out` (+ `out`.data when the graph has weights) and returns the seconds it took."""
    module.eval()  # exporters may restore training mode afterwards: set it before and after
    args = tuple(torch.from_numpy(example[name]) for name in spec.input_names)
    for noisy in ("onnx_ir", "onnxscript", "torch.onnx", "torch.export"):  # per-initializer INFO lines
        logging.getLogger(noisy).setLevel(logging.WARNING)
    start = time.perf_counter()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, args, dynamo=True, opset_version=OPSET, input_names=spec.input_names,
            dynamic_shapes=_dynamic_shapes(spec), verbose=False,
        )
    _name_outputs(program.model.graph, spec)
    program.save(str(out), external_data=True)
    module.eval()
    seconds = time.perf_counter() - start
    log.info("exported %s to %s in %.1f s", spec.name, out, seconds)
    return seconds
