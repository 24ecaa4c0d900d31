"""ONNX Runtime against PyTorch, per stage, in relative error (absolute tolerances pass trivially
on random-weight waveforms that peak near 1e-5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParityRow:
    stage: str
    rel_l2: float
    rel_max: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.rel_l2) and self.rel_l2 <= self.tolerance and self.rel_max <= 10 * self.tolerance)

    def to_json(self) -> dict:
        return {"rel_l2": self.rel_l2, "rel_max": self.rel_max, "tolerance": self.tolerance, "ok": self.ok}


def relative_errors(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return float("inf"), float("inf")
    diff = ours - ref
    scale = max(np.linalg.norm(ref), 1e-30)
    return float(np.linalg.norm(diff) / scale), float(np.abs(diff).max() / max(np.abs(ref).max(), 1e-30))


def compare(stage: str, ours: np.ndarray, ref: np.ndarray, tolerance: float) -> ParityRow:
    return ParityRow(stage, *relative_errors(ours, ref), tolerance)


def format_table(rows: list[ParityRow]) -> str:
    lines = [f"{'stage':<16} {'rel L2':>10} {'rel max':>10} {'tolerance':>10}  result"]
    for r in rows:
        lines.append(f"{r.stage:<16} {r.rel_l2:>10.2e} {r.rel_max:>10.2e} {r.tolerance:>10.0e}  {'ok' if r.ok else 'FAIL'}")
    return "\n".join(lines)
