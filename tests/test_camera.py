"""The camera process over real ZeroMQ sockets: a real video file through OpenCV, the synthetic
walk, a source that is missing and one that freezes; frames never leave the process."""

import os
import socket as pysocket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
import zmq

from installation import messages
from installation.camera.debounce import Debouncer, VisitEvidence
from installation.camera.process import CameraProcess
from installation.camera.sources import SyntheticWalk, WalkSegment
from installation.catalog import load_catalog
from installation.config import CameraConfig, IpcConfig
from installation.camera.synthetic import artwork, view
from installation.recognition import Candidate, Recognition

REPO = Path(__file__).resolve().parents[1]
BUSY = (0, 6, 12)  # busy works: recognised by keypoints every time


def _port():
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("camera-catalog")
    for seed in BUSY:
        cv2.imwrite(str(folder / f"work-{seed}.png"), artwork(seed))
    return folder


def test_debouncer_enters_on_k_of_n_leaves_after_timeout_and_holds_dwell():
    d = Debouncer(enter_k=3, enter_n=5, leave_seconds=1.0, min_dwell=2.0)
    assert [d.update(x, t) for t, x in enumerate([None, "a", None, "a"], start=0)] == [False] * 4
    assert d.update("a", 4.0) and d.current == "a"  # 3 of the last 5
    assert not d.update("b", 4.5) and not d.update("b", 5.0)  # b has 2 votes only
    assert not d.update("b", 5.2) and d.current == "a"  # 3 votes, but a's 2 s dwell is not over
    assert d.update("b", 6.1) and d.current == "b"
    assert not any(d.update(None, t) for t in (6.5, 7.0, 7.5, 8.0))
    assert d.current == "b"  # unseen for 1.9 s, but its 2 s dwell is not over
    assert d.update(None, 8.5) and d.current is None


def _seen(artwork_id, confidence=0.0, best=None):
    """A Recognition as the recognizer gives it: accepted, or rejected with its best candidate."""
    candidates = [Candidate(artwork_id or best, 0.1, 0.6, None, None)] if (artwork_id or best) else []
    return Recognition(artwork_id, confidence, "global" if artwork_id else "none", 0.01, None, candidates)


def test_debouncer_lets_a_visits_frames_decide_together():
    flicker = [_seen("a", 0.8), _seen(None, best="a"), _seen("a", 0.7), _seen(None), _seen("a", 0.9)]
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0)
    assert [d.update(r, 0.2 * t) for t, r in enumerate(flicker)] == [False] * 4 + [True]
    assert d.current == "a"  # 3 accepted of the visit's frames, no rival: k of n needs 4 of 5
    bare = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0)
    assert not any(bare.update(r.artwork_id, 0.2 * t) for t, r in enumerate(flicker))  # ids alone: k of n only
    off = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0, evidence=None)
    assert not any(off.update(r, 0.2 * t) for t, r in enumerate(flicker))
    # Borderline frames (the work was the best candidate, rejected at 0.6) count `weak` x their confidence:
    # 0.8 + 0.3 + 0.7 falls short of 2.0, the second borderline frame's 0.3 reaches it.
    borderline = [_seen("a", 0.8), _seen(None, 0.6, best="a"), _seen("a", 0.7), _seen(None, 0.6, best="a")]
    weak = VisitEvidence(weak=0.5, min_accepted=2, enter=2.0)
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0, evidence=weak)
    assert [d.update(r, 0.2 * t) for t, r in enumerate(borderline)] == [False, False, False, True]
    unsure = VisitEvidence(weak=0.5, min_accepted=2, enter=2.0, weak_from=0.7)  # 0.6 is below weak_from
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0, evidence=unsure)
    assert not any(d.update(r, 0.2 * t) for t, r in enumerate(borderline))
    unscored = [_seen("a", 0.8), _seen(None, best="a"), _seen("a", 0.7), _seen(None, best="a")]  # confidence 0
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0, evidence=weak)
    assert not any(d.update(r, 0.2 * t) for t, r in enumerate(unscored))


def test_a_left_work_is_not_entered_again_from_the_visit_that_ended():
    """Recognition at 4 Hz (a slow box): the work is seen for 2 s, then the wall for 3 s. A second without
    the work is only 4 frames, so when the debouncer leaves, the visit's accepted frames are still among its
    last 8: they must not enter the work again (CI saw work-0, None, work-0, None from a video of one visit)."""
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=1.0, min_dwell=0.5)
    frames = [_seen("a", 1.0)] * 8 + [_seen(None)] * 12
    changes = [(0.25 * t, d.current) for t, r in enumerate(frames) if d.update(r, 0.25 * t)]
    assert [who for _, who in changes] == ["a", None], changes
    assert d.current is None
    # A new visit of the same work is entered again, from its own frames.
    assert [d.update(_seen("a", 1.0), 5.0 + 0.25 * t) for t in range(4)] == [False, False, True, False]
    assert d.current == "a"


def test_visit_evidence_never_enters_on_borderline_frames_alone_or_against_a_rival():
    weak = VisitEvidence(weak=0.5, min_accepted=2, enter=1.5)
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0, evidence=weak)
    assert not any(d.update(_seen(None, 0.8, best="a"), 0.2 * t) for t in range(10))  # never accepted
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0, evidence=weak)
    one = [_seen("a", 1.0)] + [_seen(None, 0.8, best="a")] * 7  # accepted once only
    assert not any(d.update(r, 0.2 * t) for t, r in enumerate(one))
    d = Debouncer(enter_k=4, enter_n=5, leave_seconds=3.0, min_dwell=2.0)
    split = [_seen("a", 1.0), _seen("b", 1.0), _seen("a", 1.0), _seen("b", 1.0), _seen("a", 1.0)]
    assert not any(d.update(r, 0.2 * t) for t, r in enumerate(split))  # a rival accepted too: k of n decides
    with pytest.raises(ValueError, match="enter 1.0"):  # one frame gives at most 1.0: it never decides alone
        VisitEvidence(enter=1.0)


def _collect(endpoint, seconds, until=None):
    ctx = zmq.Context()
    sub = messages.socket(ctx, zmq.SUB, endpoint, bind=False)
    got, sizes, frames = [], [], []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sub.poll(100):
                continue
            parts = sub.recv_multipart()
            frames.append(len(parts))
            sizes.append(sum(len(p) for p in parts))
            msg = messages.decode(parts)
            got.append(msg)
            if until and until(got):
                break
    finally:
        sub.close()
        ctx.term()
    return got, sizes, frames


def _changes(msgs):
    """The artworks the camera changed to, in order (a re-publish of the state is not a change)."""
    return [m.artwork_id for m in msgs if m.kind == "artwork" and m.data["change"]]


def test_video_file_gives_debounced_events_and_no_frame_leaves_the_process(tmp_path, catalog_dir):
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for second, art in enumerate([0, 0, 0, None, None, None, 6, 6, 6, 6]):
        for k in range(10):
            writer.write(view(artwork(art) if art is not None else None, 40 + second))
    writer.release()
    endpoint = f"tcp://127.0.0.1:{_port()}"
    config = tmp_path / "config.yaml"
    config.write_text(f"camera:\n  recognition_hz: 10\n  leave_seconds: 1.0\n  min_dwell_seconds: 0.5\n"
                      f"ipc:\n  artwork_events: {endpoint}\n")
    work = tmp_path / "cwd"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "installation.cli", "--config", str(config), "camera", "--catalog",
                             str(catalog_dir), "--source", str(video)], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        msgs, sizes, nframes = _collect(endpoint, 25)
        assert proc.wait(timeout=10) == 0  # the file ended, not looped: the process stops by itself
    finally:
        if proc.poll() is None:
            proc.kill()
    changes = _changes(msgs)
    # ... and when the video ends nobody can be seen any more: "no artwork", so the audio stops playing work-6.
    assert changes == ["work-0", None, "work-6", None], changes
    assert any(m.kind == "artwork" and not m.data["change"] for m in msgs)  # re-publishes say change: false
    # Heartbeats while the catalog's look-alikes are learnt say "loading" and how far; then the frames' status.
    beats = [m.data["status"] for m in msgs if m.kind == "heartbeat" and m.data["state"] != "loading"]
    assert any(b["fps"] > 5 for b in beats)
    # A second of one scene (the video repeats its frame): searched once, then given that answer while the scene
    # stays still - the work's and the empty wall's alike (a held work's confirmations: tests/test_track.py).
    assert max(b["still"] for b in beats) >= 50  # of the ~100 recognitions
    # Works found on a second look, the frame's glare taken off, are counted among the recognitions.
    assert all(0 <= b["glare_off"] <= b["recognitions"] for b in beats), beats[-1]
    # The verifier was refitted on this catalog's look-alikes (catalog.recognizer_for), and the status says on what.
    assert beats[-1]["lookalikes"]["works"] == len(BUSY) and beats[-1]["lookalikes"]["weight"] == 1.0, beats[-1]
    # Frames never leave the process: only single-frame JSON messages of a few hundred bytes, no files.
    assert set(nframes) == {1} and max(sizes) < 4096
    # ONNX Runtime (the recognition network) leaves its session id, a 51-byte text file ".ses", in TMPDIR.
    left = [p for p in work.iterdir() if not (p.name == ".ses" and p.stat().st_size < 100)]
    assert left == []


def _run_inprocess(cfg, catalog, source, seconds, until=None):
    endpoint = f"tcp://127.0.0.1:{_port()}"
    proc = CameraProcess(cfg, IpcConfig(artwork_events=endpoint), catalog, source)
    thread = threading.Thread(target=proc.run, daemon=True)
    thread.start()
    try:
        msgs, _, _ = _collect(endpoint, seconds, until)
    finally:
        proc.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    return proc, msgs


def test_synthetic_walk_events_follow_the_visitor(catalog_dir):
    catalog = load_catalog(catalog_dir)
    plan = [WalkSegment("work-12", 3.0), WalkSegment(None, 2.5), WalkSegment("work-0", 3.0)]
    source = SyntheticWalk(catalog, fps=10, seed=1, plan=plan)
    cfg = CameraConfig(source="synthetic", recognition_hz=10, leave_seconds=1.0, min_dwell_seconds=0.5)
    _, msgs = _run_inprocess(cfg, catalog, source, 12, until=lambda m: _changes(m)[-1:] == ["work-0"])
    changes = [c for c in _changes(msgs)]
    assert changes[-3:] == ["work-12", None, "work-0"], changes


def test_missing_source_is_retried_until_it_appears(tmp_path, catalog_dir):
    video = tmp_path / "late.avi"
    cfg = CameraConfig(source=str(video), loop=True, recognition_hz=10, leave_seconds=1.0, min_dwell_seconds=0.5,
                       reconnect_max_seconds=0.5)
    catalog = load_catalog(catalog_dir)

    def appear():
        time.sleep(1.5)
        writer = cv2.VideoWriter(str(tmp_path / "tmp.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
        for k in range(20):
            writer.write(view(artwork(6), 70 + k // 10))
        writer.release()
        os.replace(tmp_path / "tmp.avi", video)

    threading.Thread(target=appear, daemon=True).start()
    _, msgs = _run_inprocess(cfg, catalog, None, 15, until=lambda m: "work-6" in _changes(m))
    assert "work-6" in _changes(msgs)


def test_frozen_source_is_reconnected(tmp_path, catalog_dir):
    video = tmp_path / "frozen.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    still = view(artwork(0), 5)
    for _ in range(40):
        writer.write(still)  # the same frame again and again, as a wedged USB camera gives
    writer.release()
    cfg = CameraConfig(source=str(video), loop=True, recognition_hz=5, stale_seconds=1.0, reconnect_max_seconds=0.5)
    proc, msgs = _run_inprocess(cfg, load_catalog(catalog_dir), None, 8,
                                until=lambda m: any(x.kind == "heartbeat" and x.data["status"]["reconnects"] >= 2
                                                    for x in m))
    assert proc.status.reconnects >= 2
    assert "work-0" in _changes(msgs)  # and it kept recognising between reconnects


class VanishingSource:
    """A camera that shows work-0, then is unplugged (reads fail, opening fails), then comes back.
    The unplug is the one fault here that cannot be caused for real without camera hardware."""

    def __init__(self, catalog, gone_after: float, back_after: float):
        self.walk = SyntheticWalk(catalog, fps=10, seed=2, plan=[WalkSegment("work-0", 1000.0)])
        self.gone_after, self.back_after = gone_after, back_after
        self.start = None
        self.finished = False

    def _phase(self) -> str:
        t = time.monotonic() - self.start
        return "gone" if self.gone_after <= t < self.back_after else "here"

    def open(self):
        if self.start is None:
            self.start = time.monotonic()
            self.walk.open()
        elif self._phase() == "gone":
            from engines.errors import Art2MusError

            raise Art2MusError("camera unplugged")

    def read(self):
        if self._phase() == "gone":
            time.sleep(0.1)
            return None
        return self.walk.read()

    def close(self):
        pass


def test_camera_that_vanishes_says_no_artwork_keeps_its_heartbeat_and_reconnects(catalog_dir):
    catalog = load_catalog(catalog_dir)
    source = VanishingSource(catalog, gone_after=3.0, back_after=9.0)
    cfg = CameraConfig(source="usb", recognition_hz=10, leave_seconds=1.0, min_dwell_seconds=0.5,
                       stale_seconds=1.0, reconnect_max_seconds=0.5, republish_seconds=0.5)
    _, msgs = _run_inprocess(cfg, catalog, source, 20, until=lambda m: _changes(m) == ["work-0", None, "work-0"])
    assert _changes(msgs) == ["work-0", None, "work-0"]
    lost = next(m.ts for m in msgs if m.kind == "artwork" and m.artwork_id is None and m.data["change"])
    states = [m.data["state"] for m in msgs if m.kind == "heartbeat" and lost - 1 < m.ts < lost + 4]
    assert "reconnecting" in states  # heartbeats go on while the camera is gone: the supervisor sees it alive


@pytest.mark.parametrize("on", [True, False])
def test_camera_process_gives_its_debouncer_the_visits_evidence_when_configured(catalog_dir, on):
    """camera.visit_evidence: the process feeds whole Recognitions (a borderline frame's candidate and
    a sure frame's confidence reach the debouncer) or, switched off, bare ids (k of n alone)."""
    catalog = load_catalog(catalog_dir)
    proc = CameraProcess(CameraConfig(visit_evidence=on), IpcConfig(), catalog, source=object())
    proc.prepare()  # run() does it: the recogniser, its catalog's look-alikes learnt
    for k in range(3):
        proc._recognize(view(artwork(BUSY[1]), 40 + k), now=0.2 * k)
    if on:
        assert proc.debouncer.evidence == VisitEvidence()
        assert [a for a, _, _ in proc.debouncer.visit] == ["work-6"] * 3
        assert all(0 < c <= 1 for _, c, _ in proc.debouncer.visit)
    else:
        assert proc.debouncer.evidence is None and not proc.debouncer.visit
    assert list(proc.debouncer.window) == ["work-6"] * 3


def test_camera_heartbeats_while_it_learns_its_catalog_and_stops_when_asked(tmp_path):
    """A first start learns the catalog's look-alikes (a minute for 500 works) before any frame: the camera
    heartbeats "loading" meanwhile, with how far it is (the supervisor's start timeout counts from the last
    heartbeat), and asked to stop then it stops at the next work, exit 0, what it learnt kept for the next start."""
    import numpy as np

    from helpers import benchmark_module
    from installation.catalog import INDEX_DIR, LOOKALIKES_FILE

    ren = benchmark_module("bench_recognition").Renderer(1, 0.5)
    folder = tmp_path / "catalog"
    folder.mkdir()
    works = 40
    for k in range(works):
        cv2.imwrite(str(folder / f"work-{k:04d}.png"), ren.catalog_image(ren.art(k), k))
    catalog = load_catalog(folder)
    endpoint = f"tcp://127.0.0.1:{_port()}"
    # A heartbeat every 0.1 s: several while 40 works are learnt on any machine.
    proc = CameraProcess(CameraConfig(source="synthetic", republish_seconds=0.1), IpcConfig(artwork_events=endpoint),
                         catalog)
    ended = []
    thread = threading.Thread(target=lambda: ended.append(proc.run()), daemon=True)
    thread.start()
    try:
        loading = lambda got: any(m.kind == "heartbeat" and m.data["state"] == "loading" for m in got)
        msgs, _, _ = _collect(endpoint, 30, until=loading)
    finally:
        proc.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive() and ended == [0]
    beat = next(m.data for m in msgs if m.kind == "heartbeat" and m.data["state"] == "loading")
    assert beat["status"]["lookalikes"]["works"] == works and 0 < beat["status"]["lookalikes"]["learnt"] < works, beat
    assert proc.tracker is None  # stopped before it recognised anything
    with np.load(folder / INDEX_DIR / LOOKALIKES_FILE) as z:
        assert 0 < len(z["counts"]) < works, len(z["counts"])
