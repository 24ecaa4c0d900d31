"""Where the camera's frames come from: a device index or path (/dev/video0), a GStreamer
pipeline string (Jetson CSI cameras through nvarguscamerasrc; anything containing '!'), a video
file (optionally looped), or `synthetic` (a gallery walk rendered from the catalog).

Every source has open() (raises Art2MusError when it cannot), read() (a frame or None),
`finished` (a video file that ended) and close()."""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from engines.errors import Art2MusError
from installation.camera.synthetic import view
from installation.catalog import Catalog
from installation.config import CameraConfig


class Source(Protocol):
    finished: bool

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


class OpenCVSource:
    """A camera index, a device or video path, or a GStreamer pipeline, through cv2.VideoCapture."""

    def __init__(self, spec: str, loop: bool, size: tuple[int, int]):
        self.spec, self.loop, self.size = spec, loop, size
        self.cap: cv2.VideoCapture | None = None
        self.is_file = False
        self.next_due = 0.0
        self.period = 0.0

    def open(self) -> None:
        spec = self.spec
        if "!" in spec:
            cap = cv2.VideoCapture(spec, cv2.CAP_GSTREAMER)
        elif spec.isdigit():
            cap = cv2.VideoCapture(int(spec))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        else:
            cap = cv2.VideoCapture(spec)
            self.is_file = not spec.startswith(("/dev/", "rtsp:", "http:", "https:"))
        if not cap.isOpened():
            cap.release()
            raise Art2MusError(f"camera.source={spec!r} could not be opened (no such device, file or pipeline?)")
        self.cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS) if self.is_file else 0.0
        self.period = 1.0 / fps if fps and fps > 0 else 0.0  # a file plays in real time, as a camera would
        self.next_due = time.monotonic()

    def read(self) -> np.ndarray | None:
        if self.period:
            time.sleep(max(0.0, self.next_due - time.monotonic()))
            self.next_due += self.period
        ok, frame = self.cap.read()
        if not ok and self.is_file and self.loop:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        return frame if ok else None

    @property
    def finished(self) -> bool:
        """A video file that ended without looping."""
        return self.is_file and not self.loop and self.cap is not None and \
            self.cap.get(cv2.CAP_PROP_POS_FRAMES) >= self.cap.get(cv2.CAP_PROP_FRAME_COUNT) > 0

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


@dataclass
class WalkSegment:
    artwork_id: str | None
    seconds: float


def walk_plan(ids: list[str], seed: int, segments: int = 12) -> list[WalkSegment]:
    """A visitor approaches works, lingers, leaves, and comes back to one seen before."""
    rng = np.random.default_rng(seed)
    plan: list[WalkSegment] = []
    for i in range(segments):
        if i % 3 == 2:
            plan.append(WalkSegment(None, float(rng.uniform(2, 4))))  # between works
        elif i % 4 == 3 and plan:
            seen = [s.artwork_id for s in plan if s.artwork_id]
            plan.append(WalkSegment(seen[0] if seen else ids[0], float(rng.uniform(4, 8))))  # comes back
        else:
            plan.append(WalkSegment(ids[int(rng.integers(0, len(ids)))], float(rng.uniform(4, 8))))
    return plan


class SyntheticWalk:
    """Frames of a gallery walk rendered from the catalog's own images, paced at `fps`."""

    def __init__(self, catalog: Catalog, fps: float, seed: int = 0, plan: list[WalkSegment] | None = None):
        if not catalog.artworks:
            raise Art2MusError(f"camera.source=synthetic needs a catalog with images; {catalog.folder} has none")
        self.images = {i: cv2.imread(str(a.path)) for i, a in catalog.artworks.items()}
        self.plan = plan or walk_plan(sorted(self.images), seed)
        self.fps, self.seed = fps, seed
        self.start = 0.0
        self.frame_no = 0

    def open(self) -> None:
        self.start = time.monotonic()

    def truth(self, t: float) -> str | None:
        """The artwork in view `t` seconds into the walk (for tests and the demo's summary)."""
        t %= sum(s.seconds for s in self.plan)
        for s in self.plan:
            if t < s.seconds:
                return s.artwork_id
            t -= s.seconds
        return None

    def read(self) -> np.ndarray | None:
        """The frame due now. A reader slower than `fps` gets the current moment, the frames in between
        dropped, as from a real camera: delivering each in turn let the walk fall behind the clock, and a
        second's worth of one view (10 alike frames) read at 0.3 s each looked like a frozen source."""
        now = time.monotonic()
        due = self.start + self.frame_no / self.fps
        if due > now:
            time.sleep(due - now)
        else:
            self.frame_no = max(self.frame_no, int((now - self.start) * self.fps))
        t = self.frame_no / self.fps
        self.frame_no += 1
        return self.frame_at(t)

    def frame_at(self, t: float) -> np.ndarray:
        """The camera's view `t` seconds into the walk; it changes a little every second, like a visitor's sway."""
        art_id = self.truth(t)
        art = self.images[art_id] if art_id else None
        return view(art, self.seed * 1_000_003 + int(t) * 7919 + zlib.crc32(str(art_id).encode()) % 997)

    finished = False

    def close(self) -> None:
        pass


def make_source(cfg: CameraConfig, catalog: Catalog):
    if cfg.source == "synthetic":
        return SyntheticWalk(catalog, cfg.fps, cfg.synthetic_seed)
    return OpenCVSource(cfg.source, cfg.loop, (cfg.width, cfg.height))

