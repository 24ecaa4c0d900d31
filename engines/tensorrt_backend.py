"""TensorRT backend: the engines `art2mus build` wrote for this box, run natively.

- Each engine's metadata is checked against this box and bundle before it is deserialised (ONNX
  sha256, variant, TensorRT version, GPU name and compute capability, plan hash); a mismatch is
  refused with the command that rebuilds it.
- Device buffers are allocated once, at the profile's largest shapes; one CUDA stream runs every
  stage; the four stages run one after another, so their execution contexts share one activation
  buffer (the largest any engine needs) instead of holding four.
- The UNet step, called 25-200 times a clip at one shape, is captured in a CUDA graph at that shape
  and replayed (recaptured when the clip length changes; plain execution if capture fails).
- The vocoder's waveform is checked for NaN/inf before it leaves the backend.

tensorrt and cuda-python are imported only here (and in tensorrt_build.py); no torch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engines.bundle import Bundle, file_sha256
from engines.engine import Engine
from engines.errors import Art2MusError
from engines.specs import STAGES, StageSpec
from engines.tensorrt_build import (RUNTIME_KEYS, BuildSettings, Box, check, cudart, detect_box, differences,
                                    plan_path, read_metadata, rebuild_command, wanted_metadata)

log = logging.getLogger(__name__)
GRAPH_STAGES = ("unet",)


def engine_folder(bundle: Bundle, box: Box) -> Path:
    return bundle.engines_root / box.key


def check_engine(bundle: Bundle, stage: str, box: Box, verify: bool = True) -> dict:
    """The metadata of `stage`'s engine for this box, or an Art2MusError saying what differs and how to rebuild."""
    folder = engine_folder(bundle, box)
    have = read_metadata(folder, stage)
    if have is None:
        others = sorted(p.name for p in bundle.engines_root.glob("*") if p.is_dir()) if bundle.engines_root.is_dir() else []
        elsewhere = f" (engines here are for: {', '.join(others)})" if others else ""
        raise Art2MusError(f"no TensorRT engine for {stage} in {folder} for {box.gpu.name} with TensorRT "
                           f"{box.tensorrt}{elsewhere}; build it with `{rebuild_command(bundle)}`")
    want = wanted_metadata(bundle, stage, box, BuildSettings())
    diff = differences(have, want, RUNTIME_KEYS)
    if verify and not diff and have.get("plan_sha256") != file_sha256(plan_path(folder, stage)):
        diff = ["plan file changed since it was built"]
    if diff:
        raise Art2MusError(f"the TensorRT engine {plan_path(folder, stage)} does not match this box and bundle "
                           f"({'; '.join(diff)}); rebuild it with `{rebuild_command(bundle)}`")
    return have


def engines_status(bundle: Bundle) -> tuple[Box | None, str | None]:
    """(box, None) when every stage has a matching engine here, else (box or None, why not) — for `auto` and doctor."""
    try:
        box = detect_box()
    except Art2MusError as exc:
        return None, str(exc)
    try:
        for stage in STAGES:
            check_engine(bundle, stage, box, verify=False)
    except Art2MusError as exc:
        return box, str(exc)
    return box, None


class _Device:
    """What the four engines share: the runtime, one stream, one activation buffer, the allocations."""

    def __init__(self):
        import tensorrt as trt

        from engines.tensorrt_build import _trt_logger

        self.trt = trt
        self.rt = cudart()
        self.logger = _trt_logger(trt)
        self.runtime = trt.Runtime(self.logger)
        self.stream = check(self.rt.cudaStreamCreate(), "stream create")
        self.handle = int(self.stream)  # TensorRT takes the stream as a plain integer handle
        self.allocations: list[int] = []
        self.scratch = 0
        self.scratch_size = 0

    def malloc(self, nbytes: int) -> int:
        ptr = int(check(self.rt.cudaMalloc(max(int(nbytes), 1)), f"allocation of {nbytes} bytes"))
        self.allocations.append(ptr)
        return ptr

    def share_activations(self, sizes: list[int]) -> None:
        self.scratch_size = max(sizes + [1])
        self.scratch = self.malloc(self.scratch_size)

    def h2d(self, ptr: int, array: np.ndarray) -> None:
        check(self.rt.cudaMemcpyAsync(ptr, array.ctypes.data, array.nbytes,
                                      self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream), "copy to GPU")

    def d2h(self, array: np.ndarray, ptr: int) -> None:
        check(self.rt.cudaMemcpyAsync(array.ctypes.data, ptr, array.nbytes,
                                      self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream), "copy from GPU")

    def sync(self) -> None:
        check(self.rt.cudaStreamSynchronize(self.stream), "stream synchronize")

    def close(self) -> None:
        for ptr in self.allocations:
            self.rt.cudaFree(ptr)
        self.allocations = []


def _device_memory_size(engine) -> int:
    if hasattr(engine, "device_memory_size_v2"):  # 10.1+
        return int(engine.device_memory_size_v2)
    return int(engine.device_memory_size)


class TensorrtEngine(Engine):
    def __init__(self, spec: StageSpec, plan: Path, meta: dict, device: _Device, cuda_graph: bool):
        super().__init__(spec)
        trt = device.trt
        self.meta, self.device, self.variant = meta, device, meta["variant"]
        self.engine = device.runtime.deserialize_cuda_engine(plan.read_bytes())
        if self.engine is None:
            raise Art2MusError(f"{spec.name}: TensorRT could not deserialise {plan}; rebuild it with `art2mus build --force`")
        self.profile = {name: [tuple(s) for s in shapes] for name, shapes in meta["profiles"].items()}
        self.names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in self.names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in self.names if n not in self.inputs]
        if sorted(self.inputs) != sorted(spec.input_names) or sorted(self.outputs) != sorted(spec.output_names):
            raise Art2MusError(f"{spec.name}: engine IO {self.inputs} -> {self.outputs} differs from the stage spec; "
                               "rebuild it with `art2mus build --force`")
        self.dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in self.names}
        self.cuda_graph = cuda_graph
        self._graph = None
        self._graph_shapes = None
        self.context = None
        self.buffers: dict[str, int] = {}

    @property
    def provider(self) -> str:
        return f"TensorRT {self.meta['tensorrt']} ({self.variant}{', CUDA graph' if self.cuda_graph else ''})"

    def attach(self) -> None:
        """Creates the context on the shared activation buffer and the IO buffers at the largest shapes."""
        trt = self.device.trt
        strategy = getattr(trt, "ExecutionContextAllocationStrategy", None)
        if strategy is not None:
            self.context = self.engine.create_execution_context(strategy.USER_MANAGED)
        else:
            self.context = self.engine.create_execution_context_without_device_memory()
        if hasattr(self.context, "set_device_memory"):
            self.context.set_device_memory(self.device.scratch, self.device.scratch_size)
        else:
            self.context.device_memory = self.device.scratch
        for name in self.inputs:
            self.context.set_input_shape(name, self.profile[name][2])
        for name in self.names:
            shape = tuple(self.context.get_tensor_shape(name))
            ptr = self.device.malloc(int(np.prod(shape)) * self.dtypes[name].itemsize)
            self.buffers[name] = ptr
            self.context.set_tensor_address(name, ptr)

    def _check_shape(self, name: str, shape: tuple) -> None:
        lo, _, hi = self.profile[name]
        if len(shape) != len(lo) or any(not a <= s <= b for s, a, b in zip(shape, lo, hi)):
            raise Art2MusError(
                f"{self.name}: input {name} of shape {shape} is outside the engine's profile {list(lo)}..{list(hi)}: "
                "a clip longer than the engine was built for; rebuild with `art2mus build --max-seconds S` or make "
                "shorter clips")

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = {}
        for name in self.inputs:
            array = np.ascontiguousarray(feeds[name], dtype=self.dtypes[name])
            self._check_shape(name, array.shape)
            arrays[name] = array
        shapes = tuple(a.shape for a in arrays.values())
        d = self.device
        if shapes != self._graph_shapes:
            self._drop_graph()
            for name, array in arrays.items():
                self.context.set_input_shape(name, array.shape)
        for name, array in arrays.items():
            d.h2d(self.buffers[name], array)
        if self.cuda_graph and self._graph_shapes == shapes and self._graph is not None:
            check(d.rt.cudaGraphLaunch(self._graph, d.stream), "CUDA graph launch")
        else:
            self._execute()
            if self.cuda_graph:
                self._capture(shapes)
        outputs = {}
        for name in self.outputs:
            out = np.empty(tuple(self.context.get_tensor_shape(name)), dtype=self.dtypes[name])
            d.d2h(out, self.buffers[name])
            outputs[name] = out
        d.sync()
        if self.name == "vocoder":
            for name, out in outputs.items():
                if not np.all(np.isfinite(out)):
                    raise Art2MusError(
                        f"vocoder: the TensorRT engine ({self.variant}) returned NaN/inf samples; an fp16 overflow "
                        "is the usual cause: re-export without --fp16 for this stage, or set model.backend: onnxruntime")
        return {n: outputs[n].astype(np.float32, copy=False) if outputs[n].dtype == np.float16 else outputs[n]
                for n in self.outputs}

    def _execute(self) -> None:
        if not self.context.execute_async_v3(self.device.handle):
            raise Art2MusError(f"{self.name}: TensorRT execution failed (its log says why)")

    def _capture(self, shapes: tuple) -> None:
        """Captures one execution at these shapes (after the plain run above, which TensorRT needs first)."""
        d, rt = self.device, self.device.rt
        try:
            check(rt.cudaStreamBeginCapture(d.stream, rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal),
                  "begin capture")
            self._execute()
            graph = check(rt.cudaStreamEndCapture(d.stream), "end capture")
            self._graph = check(rt.cudaGraphInstantiate(graph, 0), "graph instantiate")
            self._graph_shapes = shapes
        except Art2MusError as exc:
            log.warning("%s: CUDA graph capture failed (%s); running without it", self.name, exc)
            self.cuda_graph = False
            self._graph = None

    def _drop_graph(self) -> None:
        if self._graph is not None:
            self.device.rt.cudaGraphExecDestroy(self._graph)
        self._graph, self._graph_shapes = None, None


def load_tensorrt_engines(bundle: Bundle, cuda_graph: bool = True, verify: bool = True) -> dict[str, Engine]:
    """The four stages on TensorRT, or an Art2MusError naming what is missing or mismatched."""
    box = detect_box()
    metas = {stage: check_engine(bundle, stage, box, verify) for stage in STAGES}
    device = _Device()
    folder = engine_folder(bundle, box)
    engines = {stage: TensorrtEngine(bundle.specs[stage], plan_path(folder, stage), metas[stage], device,
                                     cuda_graph and stage in GRAPH_STAGES) for stage in STAGES}
    device.share_activations([_device_memory_size(e.engine) for e in engines.values()])
    for engine in engines.values():
        engine.attach()
    log.info("TensorRT %s on %s (%s): %s; one activation buffer of %.0f MB shared by the four stages", box.tensorrt,
             box.gpu.name, box.gpu.sm, ", ".join(f"{s}={e.variant}" for s, e in engines.items()),
             device.scratch_size / 2**20)
    return engines
