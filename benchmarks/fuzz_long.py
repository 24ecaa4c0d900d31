"""The fuzz suites of tests/test_fuzz.py, run long: the same Hypothesis generators, with counts from
the command line, at the real parsers and at a real `art2mus audio` process over real sockets.

    python3 benchmarks/fuzz_long.py [--messages 100000] [--decode 100000] [--images 10000] [--frames 1000]
                                    [--configs 10000] [--manifests 10000] [--catalogs 10000] [--bundle DIR]
                                    [--only SUITE ...] [--out DIR]

Prints, per suite, the count, the time and the rate, then every distinct failure found (its type and
first line, where it was raised, how often, and one example); exits 1 when there is any. A failure is
anything but the documented result or error (MessageError, Art2MusError), a broken property (a file
written outside the output, a file opened outside the bundle, a number out of range), and, for the
audio process, a death, a traceback, a lost or miscounted message, an underrun, a heartbeat that
stops or cannot be decoded, a WAV that does not match the time played. A dead audio process is
replaced by a fresh one and the fuzzing goes on; the messages that led to it are saved under --out.

`--bundle`: the bundle whose manifest is mutated (default: the tiny demo bundle in the cache, built
once when missing; that needs the export extra). Run it with `nice -n 19` on a shared box.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections import deque
from pathlib import Path

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # libpng/libtiff/libjpeg complaints by the thousand
warnings.filterwarnings("ignore")  # Pillow's on corrupt files, Hypothesis' on large reprs

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import test_fuzz as fz  # noqa: E402  (the generators and checks of the CI suites)

CHUNK = 2000  # examples per Hypothesis run (a fresh seed each): keeps its bookkeeping small
CHECKPOINT = 400  # messages between accounting checks at the audio process (under ZeroMQ's 1000 HWM)
SAVED_DEATHS = 20  # audio process deaths whose messages are saved under --out


class Failures:
    """Distinct failures: keyed by suite, type, where it was raised and the first line with numbers blurred."""

    def __init__(self, out: Path):
        self.out = out
        self.seen: dict[tuple, dict] = {}

    def add(self, suite: str, exc: BaseException | None, example=None, kind: str | None = None,
            first: str | None = None) -> None:
        kind = kind or type(exc).__name__
        first = first if first is not None else (str(exc).strip().splitlines() or [""])[0]
        where = ""
        if exc is not None:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(REPO) in f.filename
                      and "/tests/" not in f.filename and "/benchmarks/" not in f.filename]
            frames = frames or traceback.extract_tb(exc.__traceback__)
            if frames:
                name = frames[-1].filename
                where = f"{Path(name).relative_to(REPO) if name.startswith(str(REPO)) else name}:{frames[-1].lineno}"
        key = (suite, kind, where, re.sub(r"\d+", "#", first)[:80])
        entry = self.seen.setdefault(key, {"count": 0, "first": first[:300], "example": None})
        entry["count"] += 1
        if entry["example"] is None and example is not None:
            text = (f"a {example.dtype} array of shape {example.shape}" if isinstance(example, np.ndarray)
                    else repr(example))
            entry["example"] = text if len(text) <= 600 else text[:600] + f"... ({len(text)} chars)"

    def report(self) -> int:
        if not self.seen:
            print("\nno failures")
            return 0
        print(f"\n{len(self.seen)} distinct failure(s):")
        for (suite, kind, where, _), e in sorted(self.seen.items(), key=lambda kv: kv[0]):
            print(f"- [{suite}] {kind}: {e['first']}\n    at {where or '?'}, {e['count']} time(s)")
            if e["example"]:
                print(f"    example: {e['example']}")
        return 1


def run_given(strategy, body, count: int) -> int:
    """Runs body on `count` generated examples (generate phase only: nothing is shrunk; body records
    its own failures and never raises). Returns how many ran."""
    ran = [0]

    def call(case):
        ran[0] += 1
        body(case)

    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        test = settings(max_examples=n, phases=[Phase.generate], database=None, deadline=None,
                        suppress_health_check=list(HealthCheck))(given(strategy)(call))
        test()
        done += n
    return ran[0]


def guarded(suite: str, failures: Failures, check):
    """body(case) for run_given: check(case); anything raised is a failure of the suite."""

    def body(case):
        try:
            check(case)
        except Exception as exc:  # noqa: BLE001 - every escape is what we look for
            failures.add(suite, exc, case)

    return body


# suites -------------------------------------------------------------------------------------------

def suite_decode(n, failures, work):
    def check(frames):
        msg = fz.decode_or_error(frames)
        if msg is not None:
            again = [bytes(f) for f in fz.messages.encode(msg)]
            fz.same_message(msg, fz.messages.decode(again))

    ran = run_given(fz.message_frames(), guarded("decode", failures, check), n // 2)
    return ran + run_given(fz.valid_message(), guarded("encode/decode", failures, lambda m: fz.same_message(
        m, fz.messages.decode([bytes(f) for f in fz.messages.encode(m)]))), n - n // 2)


def suite_configs(n, failures, work):
    folder = work / "configs"
    folder.mkdir()
    ran = run_given(fz.config_dict() | fz.JSON_ANY, guarded("parse_config", failures, fz.check_config_finite), n // 2)
    return ran + run_given(fz.config_file_bytes(), guarded("load_config", failures,
                                                           lambda data: fz.check_config_file(folder, data)), n - n // 2)


def suite_catalogs(n, failures, work):
    root = fz.make_catalog_root(work / "catalog-root")
    return run_given(fz.catalog_yaml_bytes(), guarded("catalog.yaml", failures, lambda t: fz.check_catalog(root, t)), n)


def suite_images(n, failures, work):
    folder = work / "images"
    folder.mkdir()
    return run_given(fz.image_file(), guarded("read_image", failures, lambda case: fz.check_image(folder, case)), n)


def suite_frames(n, failures, work):
    recognizer = fz.make_recognizer(work / "recognition")
    return run_given(fz.camera_frame(), guarded("recognize", failures, lambda f: fz.check_recognition(recognizer, f)),
                     n)


def suite_manifests(n, failures, work, bundle: Path):
    fb = fz.make_fuzz_bundle(work / "bundle-fuzz", bundle)
    fz.check_bundle(fb, fb.manifest_bytes, False)  # the unmutated manifest loads
    return run_given(fz.manifest_mutation(fb.manifest, str(fb.outside)),
                     guarded("manifest", failures, lambda case: fz.check_bundle(fb, *case)), n)


def suite_messages(n, failures, work, out: Path):
    """n generated messages at real audio processes (a fresh one after each death), accounted for every
    CHECKPOINT messages; the final checks (a valid clip plays fresh, SIGTERM, the WAV) on the last one."""
    state = {"kiosk": None, "base": None, "since_check": 0, "deaths": 0, "n": 0}

    def start():
        root = Path(tempfile.mkdtemp(prefix="kiosk-", dir=work))
        kiosk = fz.AudioKiosk(root)
        kiosk.sent = deque(maxlen=CHECKPOINT + 100)  # every message since the last accounting check
        state["kiosk"], state["since_check"] = kiosk, 0
        try:
            state["base"] = fz.begin(kiosk)
        except AssertionError as exc:
            failures.add("audio", exc, kind="start", first=str(exc).splitlines()[0])
            raise

    def died(kiosk):
        tbs = kiosk.tracebacks()
        culprit = None
        for on_pub, frames in kiosk.sent:
            exc = fz.replay_in_process(frames)
            if exc is not None:
                culprit = (on_pub, frames, exc)
                break
        state["deaths"] += 1
        if state["deaths"] <= SAVED_DEATHS:  # the culprit (last line) and up to 20 messages before it
            sent = list(kiosk.sent)
            end = next((i + 1 for i, (_, frames) in enumerate(sent) if culprit and frames is culprit[1]), len(sent))
            with open(out / f"audio-death-{state['deaths']}.jsonl", "w") as f:
                for on_pub, frames in sent[max(0, end - 21):end]:
                    f.write(json.dumps({"socket": "events" if on_pub else "clips",
                                        "frames_hex": [bytes(x).hex() for x in frames]}) + "\n")
        if tbs:
            kind, _, first = fz.exception_line(tbs[0]).partition(": ")
        else:
            kind, first = "exit", f"exit {kiosk.proc.returncode} without a traceback"
        failures.add("audio", culprit[2] if culprit else None, culprit and fz.Frames(culprit[1]),
                     kind=f"process died: {kind}", first=first)
        kiosk.close()
        start()

    def checkpoint():
        kiosk = state["kiosk"]
        try:
            fz.check_counts(kiosk, state["base"])
        except AssertionError as exc:
            if not kiosk.alive():
                died(kiosk)
                return
            failures.add("audio", exc, kind="accounting", first=str(exc).splitlines()[0])
            kiosk.close()  # its counters are off now: start over
            start()
            return
        state["since_check"] = 0

    def send(case):
        draw_pub, frames = case
        kiosk = state["kiosk"]
        try:
            kiosk.send(frames, fz.on_events_socket(draw_pub, frames))
        except AssertionError as exc:
            if not kiosk.alive():
                died(kiosk)
            else:  # alive but taking nothing: deaf
                failures.add("audio", exc, fz.Frames(frames), kind="deaf", first=str(exc).splitlines()[0])
                kiosk.close()
                start()
            return
        state["n"] += 1
        state["since_check"] += 1
        if state["since_check"] >= CHECKPOINT or not kiosk.alive():
            checkpoint()

    start()
    t0 = time.monotonic()
    try:
        run_given(st.tuples(st.booleans(), fz.message_frames()), send, n)
        checkpoint()
        fz.finish(state["kiosk"], state["base"])
    except AssertionError as exc:
        failures.add("audio", exc, kind="final checks", first=str(exc).splitlines()[0])
    finally:
        state["kiosk"].close()
    print(f"  audio: {state['deaths']} process death(s); {time.monotonic() - t0:.0f} s")
    return state["n"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=100_000, help="messages at a real audio process")
    p.add_argument("--decode", type=int, default=100_000, help="messages.decode / encode in-process")
    p.add_argument("--images", type=int, default=10_000, help="image files through read_image")
    p.add_argument("--frames", type=int, default=1_000, help="odd-sized frames through Recognizer.recognize")
    p.add_argument("--configs", type=int, default=10_000, help="config dicts (parse_config) and files (load_config)")
    p.add_argument("--manifests", type=int, default=10_000, help="mutated manifest.json through load_bundle")
    p.add_argument("--catalogs", type=int, default=10_000, help="catalog.yaml files through load_catalog")
    p.add_argument("--bundle", help="bundle to mutate (default: the tiny demo bundle in the cache)")
    p.add_argument("--only", nargs="+", choices=["decode", "messages", "images", "frames", "configs", "manifests",
                                                 "catalogs"])
    p.add_argument("--out", help="where the messages before an audio process death are saved (default: a temp dir)")
    args = p.parse_args()
    import logging

    logging.basicConfig(level=logging.CRITICAL)  # the parsers' warnings by the thousand are not the point
    out = Path(args.out or tempfile.mkdtemp(prefix="fuzz-long-out-"))
    out.mkdir(parents=True, exist_ok=True)
    failures = Failures(out)
    with tempfile.TemporaryDirectory(prefix="fuzz-long-") as tmp:
        work = Path(tmp)
        bundle = None
        if args.manifests and (not args.only or "manifests" in args.only):
            if args.bundle:
                bundle = Path(args.bundle)
            else:
                from installation.config import ModelConfig
                from installation.generator.model import resolve_bundle

                bundle = resolve_bundle(ModelConfig())
        suites = [("decode", args.decode, suite_decode), ("configs", args.configs, suite_configs),
                  ("catalogs", args.catalogs, suite_catalogs), ("images", args.images, suite_images),
                  ("frames", args.frames, suite_frames),
                  ("manifests", args.manifests, lambda n, f, w: suite_manifests(n, f, w, bundle)),
                  ("messages", args.messages, lambda n, f, w: suite_messages(n, f, w, out))]
        rows = []
        for name, count, fn in suites:
            if not count or (args.only and name not in args.only):
                continue
            before = sum(v["count"] for v in failures.seen.values())
            t0 = time.monotonic()
            print(f"{name}: {count} ...", flush=True)
            ran = fn(count, failures, work)
            seconds = time.monotonic() - t0
            found = sum(v["count"] for v in failures.seen.values()) - before
            rows.append((name, ran, seconds, found))
            print(f"{name}: {ran} in {seconds:.1f} s ({ran / max(seconds, 1e-9):.0f}/s), {found} failing", flush=True)
    print(f"\n{'suite':<10} {'count':>8} {'seconds':>8} {'per s':>8} {'failing':>8}")
    for name, ran, seconds, found in rows:
        print(f"{name:<10} {ran:>8} {seconds:>8.1f} {ran / max(seconds, 1e-9):>8.0f} {found:>8}")
    if any(out.iterdir()):
        print(f"\nmessages before each audio process death: {out}")
    return failures.report()


if __name__ == "__main__":
    sys.exit(main())
