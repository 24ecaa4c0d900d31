"""The model bundle: what export writes and the runtime reads.

    BUNDLE/manifest.json    format version, source, dims, audio, stages (files, hashes, IO), constants,
                            scheduler config, defaults, export versions and parity
    BUNDLE/onnx/<stage>.onnx (+ external data files)
    BUNDLE/constants/*.npy  T5 support-prompt tokens + mask (negative and positive), negative LOA tokens
    BUNDLE/engines/sm<cc>-trt<version>/<stage>.plan + <stage>.json   TensorRT engines built on a box
                            (`art2mus build`, engines/tensorrt_build.py) with their build metadata

Every file the manifest names is hashed; a file missing or changed since export is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.errors import Art2MusError
from engines.specs import STAGES, ModelDims, StageSpec, TensorSpec

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONSTANTS = ("t5_tokens", "t5_mask", "negative_loa")
ENGINES = "engines"
REEXPORT = "re-export it with `art2mus export --checkpoint DIR --out BUNDLE` (or `--tiny` for the demo model)"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class AudioFormat:
    sample_rate: int
    hop: int  # waveform samples per mel frame

    @property
    def seconds_per_frame(self) -> float:
        return self.hop / self.sample_rate


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict
    dims: ModelDims
    audio: AudioFormat
    specs: dict[str, StageSpec]
    constants: dict[str, np.ndarray]

    def stage_path(self, stage: str, variant: str | None = None) -> Path:
        entry = self.manifest["stages"][stage]
        return self.root / (entry["variants"][variant]["file"] if variant else entry["file"])

    def variants(self, stage: str) -> tuple[str, ...]:
        return tuple(self.manifest["stages"][stage].get("variants", {}))

    def gpu_variant(self, stage: str) -> str | None:
        """The graph a GPU builds for `stage`: its fp16 variant when export shipped one (it passed
        fp16 parity), else None (the fp32 graph; the manifest's fp16 table says why)."""
        return "fp16" if "fp16" in self.variants(stage) else None

    @property
    def fp16_table(self) -> dict:
        """export --fp16's per-stage precision table (empty when the bundle was exported without it)."""
        return self.manifest.get("fp16", {}).get("stages", {})

    @property
    def engines_root(self) -> Path:
        """Where `art2mus build` puts TensorRT engines, one folder per GPU compute capability and TensorRT version."""
        return self.root / ENGINES

    @property
    def default_seconds(self) -> float:
        return float(self.manifest.get("defaults", {}).get("seconds", 10.24))

    @property
    def scheduler_config(self) -> dict:
        return self.manifest["scheduler"]

    @property
    def max_seconds(self) -> float:
        return float(self.manifest["limits"]["max_seconds"])

    @property
    def fingerprint(self) -> str:
        """A short hash of the manifest (which holds every file's sha256): the bundle's identity in
        clip provenance, caches and status."""
        return hashlib.sha256(json.dumps(self.manifest, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        src = self.manifest.get("source", {})
        return f"{self.root} ({src.get('kind', '?')}: {src.get('description', '')})"


def _read_manifest(root: Path) -> dict:
    if root.exists() and not root.is_dir():
        raise Art2MusError(f"model bundle {str(root)!r} is a file, not a bundle folder; {REEXPORT}")
    if not root.is_dir():
        raise Art2MusError(f"model bundle {str(root)!r} does not exist; {REEXPORT}")
    path = root / MANIFEST
    if not path.is_file():
        raise Art2MusError(f"model bundle {str(root)!r} has no {MANIFEST}: it is not a bundle or is incomplete; {REEXPORT}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise Art2MusError(f"{path} is not valid JSON ({exc}); the bundle is corrupt: {REEXPORT}") from exc
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int):
        raise Art2MusError(f"{path} has no integer format_version; the bundle is corrupt: {REEXPORT}")
    if version > FORMAT_VERSION:
        raise Art2MusError(
            f"model bundle {str(root)!r} has format_version {version}, newer than this art2mus reads "
            f"({FORMAT_VERSION}); upgrade art2mus, or re-export the bundle with this version"
        )
    if version < FORMAT_VERSION:
        raise Art2MusError(f"model bundle {str(root)!r} has old format_version {version}; {REEXPORT}")
    missing = [k for k in ("dims", "audio", "preprocess", "stages", "constants", "scheduler", "limits") if k not in manifest]
    if missing:
        raise Art2MusError(f"{path} lacks {', '.join(missing)}; the bundle is corrupt: {REEXPORT}")
    return manifest


def _inside(root: Path, rel, what: str) -> Path:
    """A manifest's file name, as a path that stays inside the bundle (no absolute paths, no '..')."""
    if not isinstance(rel, str) or not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise Art2MusError(f"{what}: the manifest names file {str(rel)[:80]!r}, which is not a path inside the bundle; "
                           f"the bundle is corrupt or tampered with: {REEXPORT}")
    return root / rel


def _verify_file(root: Path, entry: dict, what: str, verify: bool) -> Path:
    path = _inside(root, entry["file"], what)
    if verify and not (isinstance(entry.get("sha256"), str) and len(entry["sha256"]) == 64):
        raise Art2MusError(f"{what}: the manifest has no sha256 for {entry['file']!r}, so it cannot be checked; "
                           f"{REEXPORT}")
    if not path.is_file():
        raise Art2MusError(f"{what}: file {str(path)!r} named in the manifest is missing; {REEXPORT}")
    if verify and file_sha256(path) != entry["sha256"]:
        raise Art2MusError(
            f"{what}: file {str(path)!r} changed since export (sha256 differs from the manifest); "
            f"restore it from the original bundle or {REEXPORT}"
        )
    return path


def _stage_spec(name: str, entry: dict) -> StageSpec:
    return StageSpec(
        name,
        tuple(TensorSpec.from_json(t) for t in entry["inputs"]),
        tuple(TensorSpec.from_json(t) for t in entry["outputs"]),
    )


def load_bundle(root: str | Path, verify: bool = True) -> Bundle:
    """Reads and checks a bundle. `verify` re-hashes every file (a second or two for a full-size bundle).
    Any malformed manifest field is one Art2MusError naming the manifest, never a traceback."""
    root = Path(root)
    try:
        return _load_bundle(root, verify)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise Art2MusError(f"{root / MANIFEST} is malformed ({type(exc).__name__}: {str(exc)[:120]}); the bundle is "
                           f"corrupt: {REEXPORT}") from None


def _load_bundle(root: Path, verify: bool) -> Bundle:
    manifest = _read_manifest(root)
    missing = [s for s in STAGES if s not in manifest["stages"]]
    if missing:
        raise Art2MusError(f"model bundle {str(root)!r} lacks stage(s) {', '.join(missing)}; {REEXPORT}")
    specs = {}
    for stage in STAGES:
        entry = manifest["stages"][stage]
        graphs = [entry] + list(entry.get("variants", {}).values())
        for graph in graphs:
            for f in [graph] + graph.get("data_files", []):
                _verify_file(root, f, stage, verify)
        specs[stage] = _stage_spec(stage, entry)
    constants = {}
    for name in CONSTANTS:
        if name not in manifest["constants"]:
            raise Art2MusError(f"model bundle {str(root)!r} lacks constant {name!r}; {REEXPORT}")
        path = _verify_file(root, manifest["constants"][name], f"constant {name}", verify)
        try:
            constants[name] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise Art2MusError(f"constant {name}: {path} is not a numpy array file ({exc}); {REEXPORT}") from exc
    bundle = Bundle(root=root, manifest=manifest, dims=ModelDims(**manifest["dims"]),
                    audio=AudioFormat(**manifest["audio"]), specs=specs, constants=constants)
    limit = manifest["limits"]["max_seconds"]
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit < 1e4:
        raise Art2MusError(f"{root / MANIFEST}: limits.max_seconds={limit!r} is not a length in seconds; {REEXPORT}")
    return bundle


def write_manifest(root: Path, manifest: dict) -> None:
    """Writes manifest.json last and atomically, so a half-written bundle never looks complete."""
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False))
    tmp.replace(root / MANIFEST)
