"""Fuzz tests (issue 11): generated input thrown at the real parsers and at a real `art2mus audio`
process over real sockets. The properties: a parser returns its documented result or raises its
documented error (MessageError, Art2MusError) and nothing else; the audio process drops what is bad
(counted in its heartbeat's `dropped`), never loses its receiver thread, keeps playing without an
underrun, and writes nothing but its output.

Bounded for CI here (a few hundred messages, tens to hundreds of examples per parser);
benchmarks/fuzz_long.py runs the same generators (imported from this module) for a long time.
Failures are reported with Hypothesis' minimal example (and `@reproduce_failure` blob)."""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
import zmq
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from helpers import free_ports
from engines.errors import Art2MusError
from installation import messages
from installation.messages import ARRAY, COMMON, KINDS, MAX_CLIP_SAMPLES, MAX_CLIP_SECONDS, MAX_ID_CHARS, MAX_RATE, \
    MIN_RATE, Message, MessageError

REPO = Path(__file__).resolve().parents[1]
# No example database and no explain phase (Hypothesis still keeps caches and failure patches in
# .hypothesis/, a folder it gitignores itself); print_blob: a failure says how to replay it exactly.
PHASES = [Phase.explicit, Phase.generate, Phase.shrink]
FUZZ = dict(deadline=None, database=None, print_blob=True, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------------------
# JSON values of every kind (shared by the message, config, catalog and manifest generators)
# ------------------------------------------------------------------------------------------------

HUGE_INTS = st.integers(min_value=2**63, max_value=10**400) | st.integers(min_value=-(10**400), max_value=-(2**63))
WEIRD_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 1e19, 2.0**63])
SCALARS = (st.none() | st.booleans() | st.integers() | HUGE_INTS | st.floats(allow_nan=True, allow_infinity=True)
           | WEIRD_FLOATS | st.text(max_size=20))
JSON_ANY = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)

# Raw JSON number tokens Python's json.loads accepts (or chokes on) that json.dumps never writes.
RAW_TOKENS = ("1e999", "-1e999", "1" + "0" * 400, "-" + "9" * 330, "NaN", "Infinity", "-Infinity", "1e-400",
              "-0", "1E400", "0.0000000000000000000000000000001", "123456789012345678901234567890")
_RAW = re.compile(r'"\\u0000RAW:([^"\\]*)\\u0000"')


def raw(token: str) -> str:
    """A string that `dumps_raw` writes as the bare token (a JSON number json.dumps would never write)."""
    return f"\x00RAW:{token}\x00"


RAW_NUMBERS = st.sampled_from(RAW_TOKENS).map(raw)


def dumps_raw(value) -> str:
    return _RAW.sub(r"\1", json.dumps(value, allow_nan=True))


# ------------------------------------------------------------------------------------------------
# Message frames: headers whose every field mixes valid and invalid values, plus 0-3 data frames
# ------------------------------------------------------------------------------------------------

_PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
VALID_IDS = (st.sampled_from(["gallery-1", "a", "x" * MAX_ID_CHARS, "mona lisa", "Ünïcödé"])
             | st.text(_PRINTABLE, min_size=1, max_size=MAX_ID_CHARS).filter(str.isprintable)
             | st.integers(1, MAX_ID_CHARS).map(lambda n: "\U0001F3A8" * n))  # astral: 12 bytes each in JSON
ARTWORK_IDS = st.one_of(st.none(), VALID_IDS, JSON_ANY, st.sampled_from(["", "a\nb", "\x00", "x" * (MAX_ID_CHARS + 1)]),
                        st.lists(st.text(max_size=3), max_size=3),
                        st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))
LONG_TEXT = st.integers(0, 66_000).map(lambda n: "c" * n)  # header-sized strings (clip_id, ...)
DATA_VALUES = st.one_of(JSON_ANY, RAW_NUMBERS, HUGE_INTS, WEIRD_FLOATS, LONG_TEXT, VALID_IDS)
DATA_KEYS = st.sampled_from(["since", "clip_id", "from_cache", "change", "status", "provenance", "process", "pid",
                             "state", "uptime_s"]) | st.text(max_size=10)
RATES = st.sampled_from([16000, 48000, 44100, 22050, MIN_RATE, MAX_RATE]) | st.integers(MIN_RATE, MAX_RATE)
BAD_RATES = st.sampled_from([0, -1, 1, 7999, 192001, 10**12, "16000", 16000.0, True, None, [16000]])


@st.composite
def waveform(draw, n: int) -> bytes:
    """n float32 samples: music-like, silent, noisy, absurd or non-finite."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["sine", "noise", "zeros", "nan", "inf", "huge", "denormal", "random-bits"]))
    if kind == "random-bits":
        return rng.integers(0, 256, 4 * n, dtype=np.uint8).tobytes()
    t = np.arange(n, dtype=np.float32)
    wave = {"sine": lambda: 0.3 * np.sin(t * 0.05), "noise": lambda: rng.normal(0, 0.2, n),
            "zeros": lambda: np.zeros(n), "huge": lambda: rng.normal(0, 1e30, n),
            "denormal": lambda: np.full(n, 1e-42)}.get(kind, lambda: rng.normal(0, 0.2, n))()
    wave = np.asarray(wave, np.float32)
    if kind in ("nan", "inf"):
        wave[rng.integers(0, n)] = np.nan if kind == "nan" else np.inf
    return wave.tobytes()


@st.composite
def header_dict(draw) -> dict:
    """A header with each field present or not, valid or not; the clip size it claims, when valid."""
    h: dict = {}

    def maybe(key, valid, *invalid):
        """Present 9 times in 10; then valid 6 times in 10 (so that whole valid messages are common)."""
        if draw(st.integers(0, 9)) < 9:
            h[key] = draw(valid) if draw(st.integers(0, 9)) < 6 else draw(st.one_of(*invalid))

    maybe("schema", st.just(messages.SCHEMA), JSON_ANY, st.sampled_from([1.0, True, "1", 2, 0]), RAW_NUMBERS)
    maybe("kind", st.sampled_from(KINDS), JSON_ANY, st.sampled_from(["clips", "CLIP", ""]))
    maybe("artwork_id", ARTWORK_IDS)
    maybe("seq", st.integers(0, 2**31), st.integers(), HUGE_INTS, JSON_ANY, RAW_NUMBERS, st.just(1.5))
    maybe("ts", st.floats(0, 2e9), st.floats(), HUGE_INTS, RAW_NUMBERS, JSON_ANY,
          st.sampled_from(["NaN", "nan", "Infinity", "1e999", "-1e999", "12:00", ""]))
    clip = h.get("kind") == "clip" or draw(st.integers(0, 9)) == 0
    if clip:
        maybe("dtype", st.just("float32"), st.sampled_from(["float64", "int16", "<f4", "f4", "FLOAT32", "float32 "]),
              JSON_ANY)
        maybe("shape", st.integers(1, 4000).map(lambda n: [n]), st.lists(JSON_ANY, max_size=3), JSON_ANY,
              st.sampled_from([[0], [-1], [True], [1.0], [MAX_CLIP_SAMPLES + 1], [10**30], [100, 1], [[100]], "100",
                               {"0": 100}]), HUGE_INTS.map(lambda n: [n]))
        maybe("sample_rate", RATES, BAD_RATES, JSON_ANY, HUGE_INTS, RAW_NUMBERS)
    for key, value in draw(st.dictionaries(DATA_KEYS, DATA_VALUES, max_size=3)).items():
        if key not in h:
            h[key] = value
    return h


class Frames(list):
    """A message's frames, shown short (header start, frame sizes) in Hypothesis' reports."""

    def __repr__(self):
        head = bytes(self[0])
        more = f"...({len(head)} bytes)" if len(head) > 400 else ""
        return f"Frames([{head[:400]!r}{more}" + "".join(f", <{len(f)} bytes>" for f in self[1:]) + "])"

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))


@st.composite
def message_frames(draw) -> list[bytes]:
    """One multipart message: a header frame (JSON built from header_dict, or broken on purpose) and
    0-3 further frames (a clip's samples of exactly the claimed size, or random sizes)."""
    mode = draw(st.sampled_from(["header"] * 6 + ["bytes", "broken", "deep", "big", "not-object", "utf8"]))
    header = draw(header_dict())
    text = dumps_raw(header)
    if mode == "bytes":
        first = draw(st.binary(max_size=200))
    elif mode == "broken":  # valid JSON cut short, or invalid UTF-8 spliced in
        raw_bytes = text.encode()
        cut = draw(st.integers(0, len(raw_bytes)))
        first = raw_bytes[:cut] + draw(st.sampled_from([b"", b"\xff", b"\xc3", b"\x00", b"}", b"\xed\xa0\x80"]))
    elif mode == "deep":
        # Not ~1000: whether that parses depends on the caller's stack (Hypothesis raises the recursion
        # limit), so this process's prediction of the audio process's drop count would be off.
        depth = draw(st.sampled_from([50, 200, 30000, 100000]))
        first = (b'{"schema": 1, "kind": "artwork", "x": ' + b"[" * depth + b"]" * depth + b"}")
    elif mode == "big":
        first = json.dumps({**header, "pad": "p" * draw(st.integers(60_000, 70_000))}).encode()
    elif mode == "not-object":
        first = dumps_raw(draw(st.one_of(st.lists(JSON_ANY, max_size=3), SCALARS, RAW_NUMBERS))).encode()
    elif mode == "utf8":
        first = text.encode(draw(st.sampled_from(["utf-16", "utf-8-sig", "utf-32"])))
    else:
        first = text.encode()
    frames = [first]
    shape = header.get("shape")
    n = shape[0] if isinstance(shape, list) and len(shape) == 1 and type(shape[0]) is int else None
    if n is not None and 0 < n <= 16000 and draw(st.integers(0, 9)) < 8:
        frames.append(draw(waveform(n)))  # the data frame the header claims
    extra = draw(st.integers(0, 3 if len(frames) == 1 else 2)) if draw(st.integers(0, 9)) < 3 else 0
    for _ in range(extra):
        size = draw(st.sampled_from([0, 1, 3, 4, 400, 4 * 4000, 4 * 16001]) | st.integers(0, 70_000))
        frames.append(bytes(size) if draw(st.booleans()) else os.urandom(size))
    return Frames(frames)


def valid_message() -> st.SearchStrategy[Message]:
    @st.composite
    def build(draw):
        kind = draw(st.sampled_from(KINDS))
        data = draw(st.dictionaries(DATA_KEYS.filter(lambda k: k not in COMMON + ARRAY),
                                    st.one_of(JSON_ANY, VALID_IDS), max_size=4))
        array = rate = None
        if kind == "clip" or draw(st.integers(0, 9)) == 0:
            rate = draw(RATES)
            n = draw(st.integers(1, 3000))
            array = np.frombuffer(draw(waveform(n)), np.float32)
        return Message(kind, draw(st.none() | VALID_IDS), seq=draw(st.integers(-(2**63), 2**63)),
                       ts=draw(st.floats(allow_nan=False, allow_infinity=False)), data=data, array=array,
                       sample_rate=rate)

    return build()


def check_message(msg, frames) -> None:
    """The documented result of a successful decode."""
    assert isinstance(msg, Message)
    assert msg.kind in KINDS
    assert msg.artwork_id is None or (type(msg.artwork_id) is str and 0 < len(msg.artwork_id) <= MAX_ID_CHARS
                                      and msg.artwork_id.isprintable()), msg.artwork_id
    assert type(msg.seq) is int, msg.seq
    assert type(msg.ts) is float and math.isfinite(msg.ts), msg.ts
    assert isinstance(msg.data, dict) and not set(msg.data) & set(COMMON + ARRAY)
    if msg.kind == "clip":
        assert msg.array is not None
    if msg.array is None:
        assert msg.sample_rate is None
        return
    assert msg.array.dtype == np.float32 and msg.array.ndim == 1
    assert 0 < msg.array.size <= MAX_CLIP_SAMPLES
    header = json.loads(bytes(frames[0]))
    assert header["shape"] == [msg.array.size]
    assert type(msg.sample_rate) is int and MIN_RATE <= msg.sample_rate <= MAX_RATE, msg.sample_rate
    assert msg.array.size / msg.sample_rate <= MAX_CLIP_SECONDS


def same_message(a: Message, b: Message) -> None:
    assert (a.kind, a.artwork_id, a.seq, a.ts, a.sample_rate) == (b.kind, b.artwork_id, b.seq, b.ts, b.sample_rate)
    assert json.dumps(a.data, sort_keys=True) == json.dumps(b.data, sort_keys=True)
    assert (a.array is None) == (b.array is None)
    if a.array is not None:
        assert np.asarray(a.array, np.float32).tobytes() == np.asarray(b.array, np.float32).tobytes()


def decode_or_error(frames) -> Message | None:
    """decode's contract: a Message with documented fields, or MessageError (None here)."""
    try:
        msg = messages.decode(frames)
    except MessageError:
        return None
    check_message(msg, frames)
    return msg


# a. messages.decode ------------------------------------------------------------------------------

ISSUE_CASES = [  # the issue's own list, as headers (clips: with the 100 samples they claim)
    {"schema": 1, "kind": "clip", "artwork_id": "a", "seq": 1, "ts": 1.0, "dtype": "float32", "shape": "100",
     "sample_rate": 16000},
    {"schema": 1, "kind": "clip", "artwork_id": "a", "seq": 1, "ts": 1.0, "dtype": "float32", "shape": [100],
     "sample_rate": "16000"},
    {"schema": 1, "kind": "clip", "artwork_id": "a", "seq": 1, "ts": 1.0, "dtype": "float32", "shape": [100],
     "sample_rate": 1},
    {"schema": 1, "kind": "clip", "artwork_id": ["a"], "seq": 1, "ts": 1.0, "dtype": "float32", "shape": [100],
     "sample_rate": 16000},
    {"schema": 1, "kind": "artwork", "artwork_id": {"a": 1}, "seq": 1, "ts": 1.0},
    {"schema": 1, "kind": "artwork", "artwork_id": "a", "seq": 1, "ts": raw("1" + "0" * 400)},
    {"schema": 1, "kind": "artwork", "artwork_id": "a", "seq": 1, "ts": raw("1e999")},
]


@settings(max_examples=300, phases=PHASES, **FUZZ)
@given(frames=message_frames())
@example(frames=[b"[1, 2]"])
@example(frames=[b"\xff\xfe"])
@example(frames=[b'{"schema": 1, "kind": "artwork", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"])
def test_decode_returns_a_valid_message_or_raises_message_error(frames):
    decode_or_error(frames)
    decode_or_error([zmq.Frame(f) for f in frames])  # what receivers hand it (recv_multipart(copy=False))


def issue_frames(header: dict) -> list[bytes]:
    return Frames([dumps_raw(header).encode()] + ([bytes(400)] if header["kind"] == "clip" else []))


@pytest.mark.parametrize("header", ISSUE_CASES, ids=range(len(ISSUE_CASES)))
def test_decode_issue_cases(header):
    decode_or_error(issue_frames(header))


@settings(max_examples=150, phases=PHASES, **FUZZ)
@given(msg=valid_message())
def test_encode_then_decode_gives_the_same_message(msg):
    frames = [bytes(f) for f in messages.encode(msg)]
    back = messages.decode(frames)
    check_message(back, frames)
    same_message(msg, back)


@settings(max_examples=150, phases=PHASES, **FUZZ)
@given(frames=message_frames())
def test_a_decoded_message_encodes_and_decodes_again_unchanged(frames):
    msg = decode_or_error(frames)
    if msg is not None:
        again = [bytes(f) for f in messages.encode(msg)]
        same_message(msg, messages.decode(again))


# ------------------------------------------------------------------------------------------------
# b. the real audio process over real sockets
# ------------------------------------------------------------------------------------------------

def listing(root: Path, skip: tuple = ()) -> dict:
    """Every file under root with its size and mtime (what 'nothing written' compares)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if str(rel / d) not in skip]
        out[str(rel)] = "dir"
        for f in filenames:
            p = Path(dirpath) / f
            if str(rel / f) in skip:
                continue
            st_ = p.lstat()
            out[str(rel / f)] = (st_.st_size, st_.st_mtime_ns)
    return out


def replay_in_process(frames) -> BaseException | None:
    """What the audio process's receiver does with these frames, replayed here (its own `_handle`
    on a stand-in socket): the exception that would end the receiver thread, or None. Used to name
    the message that killed a real process (a diagnostic only)."""
    import queue
    from types import SimpleNamespace

    from installation.audio.process import Receiver, Status
    from installation.config import AudioConfig

    proc = SimpleNamespace(status=Status(), events=queue.Queue(), cfg=AudioConfig(), stop=threading.Event())
    sock = SimpleNamespace(recv_multipart=lambda copy=True: [zmq.Frame(bytes(f)) for f in frames])
    logging.disable(logging.CRITICAL)  # its "dropped a message" lines: the real process logged them already
    try:
        Receiver(proc, None, None)._handle(sock)
    except Exception as exc:  # noqa: BLE001 - reported
        return exc
    finally:
        logging.disable(logging.NOTSET)
    return None


def exception_line(traceback_text: str) -> str:
    """'Type: message' of a traceback printed in a log (the first unindented line after its header)."""
    for line in traceback_text.splitlines()[1:]:
        if line.strip() and not line.startswith((" ", "\t")):
            return line
    return traceback_text.splitlines()[0] if traceback_text else ""


TRACEBACK = re.compile(r"^(Traceback \(most recent call last\):|Exception in thread)", re.M)
RATE = 48000  # the audio process's default device rate (the config below does not change it)


class AudioKiosk:
    """A real `art2mus audio` process (file sink, free ports) and the three sockets that talk to it:
    PUB at ipc.artwork_events (bound here), PUSH to ipc.clips, SUB on ipc.audio_status."""

    def __init__(self, root: Path, realtime: bool = True):
        self.root = root
        self.cwd = root / "cwd"  # the process's working directory: must stay empty
        self.cwd.mkdir(parents=True, exist_ok=True)
        ports = free_ports(5)
        self.events, self.clips, self.status_ep = (f"tcp://127.0.0.1:{p}" for p in ports[:3])
        self.out = root / "kiosk.wav"
        self.log = root / "audio.log"
        self.config = root / "config.yaml"
        self.config.write_text(
            f"audio:\n  sink: file:{self.out}\n  buffer_seconds: 0.4\n  file_realtime: {str(realtime).lower()}\n"
            f"ipc:\n  artwork_events: tcp://127.0.0.1:{ports[0]}\n  clips: tcp://127.0.0.1:{ports[1]}\n"
            f"  audio_status: tcp://127.0.0.1:{ports[2]}\n  generator_status: tcp://127.0.0.1:{ports[3]}\n"
            f"  supervisor: tcp://127.0.0.1:{ports[4]}\n")
        self.before = listing(root)
        self.ctx = zmq.Context()
        self.pub = messages.socket(self.ctx, zmq.PUB, self.events, bind=True)
        self.sub = messages.socket(self.ctx, zmq.SUB, self.status_ep, bind=False)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "installation.cli", "--config", str(self.config), "audio"],
                                     cwd=self.cwd, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)
        self.push = messages.socket(self.ctx, zmq.PUSH, self.clips, bind=False)
        self.push.setsockopt(zmq.SNDTIMEO, 5000)
        self.last: dict | None = None
        self.sent = deque(maxlen=200)  # the last messages (socket, frames), for a failure's report
        self.expected = {"dropped": 0, "received": 0}
        self.counts = {"messages": 0}

    # -- talking to it -----------------------------------------------------------------------------
    def tail(self, chars: int = 3000) -> str:
        with open(self.log, "rb") as f:
            f.seek(max(0, self.log.stat().st_size - chars))
            return f.read().decode(errors="replace")

    def tracebacks(self) -> list[str]:
        """Each traceback (or thread death) in the process's output, from its first line to its last."""
        text = self.log.read_text(errors="replace")
        return [text[m.start():m.start() + 4000] for m in TRACEBACK.finditer(text)]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def recent(self) -> str:
        """The culprit among the last messages sent (the first that replays to an error in-process), else
        the last few."""
        for on_pub, frames in self.sent:
            exc = replay_in_process(frames)
            if exc is not None:
                return (f"the message that kills the receiver (replayed in-process: {type(exc).__name__}: {exc}): "
                        f"{'PUB' if on_pub else 'PUSH'} {Frames(frames)!r}")
        return "no message replays to an error in-process; the last sent:\n" + "\n".join(
            f"{'PUB ' if on_pub else 'PUSH'} {Frames(frames)!r}" for on_pub, frames in list(self.sent)[-5:])

    def died(self) -> str:
        tbs = self.tracebacks()
        return (f"the audio process exited ({self.proc.returncode}); "
                f"{tbs[0][:2500] if tbs else 'no traceback; its last output: ' + self.tail(1500)}\n{self.recent()}")

    def send(self, frames: list, on_pub: bool) -> None:
        """Sends one message and predicts (with the same decoder) what the receiver must count."""
        try:
            msg = messages.decode(frames)
        except MessageError:
            self.expected["dropped"] += 1
        except Exception:  # noqa: BLE001 - a decode bug: the decode test reports it; the process must survive it
            self.expected["dropped"] += 1
        else:
            if msg.kind == "clip":
                self.expected["received"] += 1
        self.sent.append((on_pub, frames))
        self.counts["messages"] += 1
        try:
            (self.pub if on_pub else self.push).send_multipart(frames)
        except zmq.Again:
            raise AssertionError("the audio process takes no more clips (PUSH blocked 5 s): "
                                 + (self.died() if not self.alive() else "it runs, deaf")) from None

    def event(self, artwork_id: str | None, **data) -> None:
        messages.send(self.pub, Message("artwork", artwork_id, data=data))

    def status(self, cond, seconds: float = 20, announce: str | None = None, what: str = "condition") -> dict:
        """The first heartbeat status that satisfies cond; fails on a dead process, an undecodable
        heartbeat or a timeout."""
        deadline = time.monotonic() + seconds
        next_announce = 0.0
        while time.monotonic() < deadline:
            if announce is not None and time.monotonic() >= next_announce:
                self.event(announce)  # re-published, as the camera does
                next_announce = time.monotonic() + 0.3
            try:
                msg = messages.receive(self.sub, 200)
            except MessageError as exc:
                raise AssertionError(f"the audio process's heartbeat cannot be decoded: {exc}") from None
            if msg is not None and msg.kind == "heartbeat":
                self.last = {"t": time.monotonic(), **msg.data}
                if cond(msg.data["status"]):
                    return msg.data["status"]
            if not self.alive():
                raise AssertionError(f"while waiting for {what}: {self.died()}")
        last = self.last and {k: v for k, v in self.last["status"].items() if k != "visits"}
        raise AssertionError(f"no heartbeat satisfied {what} within {seconds} s; last status {last}\n{self.tail()}")

    def settled(self, base: dict, seconds: float = 20) -> dict:
        """Waits until every message sent so far is counted (dropped, received) in the heartbeat."""
        want = {k: base[k] + v for k, v in self.expected.items()}
        return self.status(lambda s: s["dropped"] >= want["dropped"] and s["received"] >= want["received"], seconds,
                           what=f"dropped>={want['dropped']} and received>={want['received']}")

    def stop(self) -> tuple[int, dict | None]:
        """SIGTERM; returns the exit code and the last ('stopped') heartbeat with its arrival time."""
        self.proc.send_signal(signal.SIGTERM)
        stopped = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and stopped is None:
            try:
                msg = messages.receive(self.sub, 100)
            except MessageError:
                continue
            if msg is not None and msg.kind == "heartbeat" and msg.data.get("state") == "stopped":
                stopped = {"t": time.monotonic(), **msg.data}
            elif msg is None and not self.alive():
                break
        return self.proc.wait(timeout=20), stopped

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for s in (self.pub, self.push, self.sub):
            s.close()
        self.ctx.term()
        self._log_file.close()


@pytest.fixture(scope="module")
def audio_kiosk(tmp_path_factory):
    kiosk = AudioKiosk(tmp_path_factory.mktemp("fuzz-audio"))
    yield kiosk
    kiosk.close()


def clip_frames(artwork_id: str, seq: int, seconds: float = 2.0, rate: int = 16000, clip_id: str | None = None):
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    data = {"clip_id": clip_id} if clip_id else {}
    return [bytes(f) for f in messages.encode(Message("clip", artwork_id, seq=seq, array=wave, sample_rate=rate,
                                                      data=data))]


def on_events_socket(draw_pub: bool, frames: list) -> bool:
    """Artwork-looking messages go to the events PUB, clip-looking ones to the clips PUSH, others either way."""
    head = bytes(frames[0])
    if b'"kind": "artwork"' in head:
        return True
    if b'"kind": "clip"' in head:
        return False
    return draw_pub


BATCH = st.lists(st.tuples(st.booleans(), message_frames()), min_size=4, max_size=12)


def fuzz_batch_at(kiosk: AudioKiosk, batch) -> None:
    for draw_pub, frames in batch:
        kiosk.send(frames, on_events_socket(draw_pub, frames))
    assert kiosk.alive(), kiosk.died()


def issue_batch() -> list:
    """The issue's messages that deafened or killed the audio process, first."""
    batch = [(h["kind"] == "artwork", issue_frames(h)) for h in ISSUE_CASES]
    for since in (raw("1" + "0" * 400), raw("1e999"), raw("NaN"), "yesterday", [1], 10**30):
        batch.append((True, [dumps_raw({"schema": 1, "kind": "artwork", "artwork_id": "gallery-1", "seq": 1,
                                        "ts": 1.0, "since": since}).encode()]))
    return batch


def heartbeat_batch() -> list:
    """Valid messages whose echo makes the heartbeat big: a clip with a 65,300-character clip_id (last_clip), and 50
    artwork changes to 200-character astral ids (the kept visits, 12 bytes a character in JSON)."""
    batch = [(False, clip_frames("gallery-1", 7, seconds=0.5, clip_id="c" * 65_300))]
    for i in range(50):
        wide = Message("artwork", "\U0001F3A8" * 199 + chr(0x4E00 + i))
        batch.append((True, [bytes(f) for f in messages.encode(wide)]))
    return batch


def begin(kiosk: AudioKiosk) -> dict:
    """Waits for the process to play for artwork gallery-1; its counters and the time then."""
    s = kiosk.status(lambda s: s["artwork"] == "gallery-1", 30, announce="gallery-1",
                     what="the first heartbeat with artwork gallery-1")
    assert s["underruns"] == 0, s
    return {"t": kiosk.last["t"], "frames": s["frames"], "dropped": s["dropped"], "received": s["received"]}


def check_counts(kiosk: AudioKiosk, base: dict) -> dict:
    """Every message sent so far is accounted for: each bad one dropped (once), each clip received."""
    s = kiosk.settled(base)
    assert s["dropped"] == base["dropped"] + kiosk.expected["dropped"], \
        f"dropped {s['dropped'] - base['dropped']}, expected {kiosk.expected['dropped']}"
    assert s["received"] == base["received"] + kiosk.expected["received"], \
        f"received {s['received'] - base['received']}, expected {kiosk.expected['received']}"
    assert s["underruns"] == 0, f"{s['underruns']} underruns"
    return s


def finish(kiosk: AudioKiosk, base: dict) -> None:
    """After the fuzzing: a valid clip is received and plays as fresh music for the current artwork;
    SIGTERM exits 0 without a traceback, leaving a WAV as long as the time played, and nothing else."""
    s = kiosk.status(lambda s: s["artwork"] == "fuzz-final", 10, announce="fuzz-final", what="artwork fuzz-final")
    received = s["received"]
    # 8 s: it plays as fresh for seconds (crossfades are 3 s), then replays as cached
    kiosk.push.send_multipart(clip_frames("fuzz-final", 424242, seconds=8.0, clip_id="fuzz-final-clip"))
    s = kiosk.status(lambda s: s["received"] > received and s["last_clip"] == "fuzz-final-clip"
                     and s["level"] == "fresh" and s["artwork"] == "fuzz-final" and s["clip"] == "fuzz-final#424242",
                     15, what="the final clip playing as fresh")
    assert s["underruns"] == 0, s
    code, stopped = kiosk.stop()
    log = kiosk.tail(50_000)
    assert code == 0, f"exit {code}: {log[-3000:]}"
    assert not kiosk.tracebacks(), kiosk.tracebacks()[0]
    assert stopped is not None, "no 'stopped' heartbeat with the final numbers"
    final = stopped["status"]
    assert final["underruns"] == 0, final
    import soundfile as sf

    info = sf.info(str(kiosk.out))
    assert info.samplerate == RATE and info.channels == 2
    assert info.frames == final["frames"], f"the WAV holds {info.frames} frames, the process played {final['frames']}"
    played, wall = (final["frames"] - base["frames"]) / RATE, stopped["t"] - base["t"]
    assert abs(played - wall) < 0.75, f"played {played:.2f} s of audio in {wall:.2f} s of wall time"
    after = listing(kiosk.root)
    new = set(after) - set(kiosk.before)
    assert new <= {"kiosk.wav", "audio.log"}, f"the audio process wrote {sorted(new)}"
    changed = [k for k, v in kiosk.before.items() if after.get(k) != v]
    assert not changed, f"the audio process changed or removed {changed}"
    assert listing(kiosk.cwd) == {".": "dir"}, f"the audio process wrote into its working dir: {listing(kiosk.cwd)}"


def test_audio_process_survives_fuzzed_messages_and_plays_on(audio_kiosk):
    kiosk = audio_kiosk
    base = begin(kiosk)

    @settings(max_examples=45, phases=[Phase.explicit, Phase.generate], **FUZZ)  # no shrinking: one shared process
    @given(batch=BATCH)
    @example(batch=issue_batch())
    @example(batch=heartbeat_batch())
    def fuzz(batch):
        fuzz_batch_at(kiosk, batch)

    fuzz()
    assert kiosk.counts["messages"] >= 100
    check_counts(kiosk, base)
    assert kiosk.expected["dropped"] > 0
    finish(kiosk, base)


# ------------------------------------------------------------------------------------------------
# c. config
# ------------------------------------------------------------------------------------------------

def _config_schema() -> dict:
    from installation.config import Config

    return {name: list(f.annotation.model_fields) for name, f in Config.model_fields.items()}


CONFIG_KEYS = _config_schema()
PLAUSIBLE = st.sampled_from(["tcp://127.0.0.1:5555", "ipc:///tmp/art2mus-x", "09:30", "24:00", "file:/dev/null/x.wav",
                             "default", "auto", "cpu", "dpm", "INFO", "mon", ["mon", "sun"], ["unet"], ["kept"], "~",
                             "$HOME", "", "0", 0, 1, -1, 0.5, 3.5, 1e-9, 10**6])
CONFIG_VALUES = st.one_of(PLAUSIBLE, JSON_ANY, HUGE_INTS, WEIRD_FLOATS,
                          st.lists(st.lists(SCALARS, max_size=3), max_size=3))


@st.composite
def config_dict(draw):
    out = {}
    for section in draw(st.lists(st.sampled_from(sorted(CONFIG_KEYS)) | st.text(max_size=8), max_size=4)):
        if draw(st.integers(0, 9)) == 0:
            out[section] = draw(JSON_ANY)
            continue
        keys = st.sampled_from(CONFIG_KEYS.get(section) or ["x"]) | st.text(max_size=8)
        out[section] = draw(st.dictionaries(keys, CONFIG_VALUES, max_size=5))
    if draw(st.integers(0, 19)) == 0:
        out[draw(st.integers() | st.none())] = draw(JSON_ANY)  # YAML allows keys that are not strings
    return out


def parse_config_or_error(data):
    from installation.config import Config, parse_config

    try:
        cfg = parse_config(data, "fuzz.yaml")
    except Art2MusError as exc:
        assert str(exc)
        return None
    assert isinstance(cfg, Config)
    return cfg


def floats_in(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from floats_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from floats_in(v)


@settings(max_examples=200, phases=PHASES, **FUZZ)
@given(data=config_dict() | JSON_ANY)
@example(data={"audio": {"sample_rate": 10**400}})
@example(data={"camera": {"fps": math.nan}, "supervisor": {"stop_timeout_seconds": math.inf}})
def test_parse_config_returns_a_config_or_raises_art2mus_error(data):
    parse_config_or_error(data)


@settings(max_examples=100, phases=PHASES, **FUZZ)
@given(data=config_dict())
@example(data={"camera": {"leave_seconds": math.inf}})
def test_a_parsed_config_holds_only_finite_numbers(data):
    """The issue: '.inf is accepted for several timeouts'."""
    check_config_finite(data)


def check_config_finite(data) -> None:
    cfg = parse_config_or_error(data)
    if cfg is not None:
        bad = [v for v in floats_in(cfg.model_dump()) if not math.isfinite(v)]
        assert not bad, f"config accepted {bad}"


YAML_TOKENS = (".inf", "-.inf", ".nan", ".NaN", "0x1F", "0o17", "1_000", "1e400", "2001-12-14", "12:30:00", "09:30",
               "!!binary aGk=", "!!set {a: null}", "!!python/object/apply:os.system ['true']", "*nowhere", "&a [*a]",
               "{", "]", "'unterminated", "\"\\xff\"", "yes", "off", "~", "!!float nan", "!!int 1e3", "? [1, 2]\n: x",
               "|\n  block", "- a\n- b", "&x {a: 1}", "<<: {a: 1}", "!!timestamp 2001-12-14t21:59:43.10-05:00",
               "2001-02-30", "1889-13-01", "!!int x", "!!int", "!!int +", "!!float abc", "!!bool maybe",
               "!!timestamp x", "9" * 5000)


def yaml_with_tokens(draw, data) -> bytes:
    """yaml.safe_dump of data, with some scalars replaced by raw YAML tokens (tags, aliases, specials)."""
    tokens = {}

    def sprinkle(value):
        if isinstance(value, dict):
            return {k: sprinkle(v) for k, v in value.items()}
        if isinstance(value, list):
            return [sprinkle(v) for v in value]
        if draw(st.integers(0, 5)) == 0:
            marker = f"zzraw{len(tokens)}zz"
            tokens[marker] = draw(st.sampled_from(YAML_TOKENS))
            return marker
        return value

    try:
        text = yaml.safe_dump(sprinkle(data), allow_unicode=draw(st.booleans()))
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError):
        text = "x: 1\n"
    for marker, token in tokens.items():
        text = text.replace(marker, token)
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["latin-1", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


@st.composite
def config_file_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["yaml", "yaml", "bytes", "splice"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    doc = yaml_with_tokens(draw, draw(config_dict()))
    if kind == "splice":
        at = draw(st.integers(0, len(doc)))
        bad = draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3\x28", b"\x00", b"\xef\xbb\xbf", b"\t"]))
        doc = doc[:at] + bad + doc[at:]
    return doc


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=150, phases=PHASES, **FUZZ)
@given(data=config_file_bytes())
@example(data=b"audio:\n  sink: caf\xe9\n")
@example(data=b"schedule:\n  open: 2001-02-30\n")  # an impossible date, read by YAML as a timestamp
@example(data=b"audio:\n  block: !!int 1e3\n")
@example(data=b"\xff\xfe\x00\x00")
def test_load_config_on_any_file_returns_a_config_or_raises_art2mus_error(fuzz_dir, data):
    check_config_file(fuzz_dir, data)


def check_config_file(folder: Path, data: bytes) -> None:
    from installation.config import Config, load_config

    path = folder / "config.yaml"
    path.write_bytes(data)
    try:
        assert isinstance(load_config(path), Config)
    except Art2MusError as exc:
        assert str(exc)


# ------------------------------------------------------------------------------------------------
# d. catalog.yaml
# ------------------------------------------------------------------------------------------------

INFO_KEYS = st.sampled_from(["title", "artist", "year", "generation"]) | st.text(max_size=6)
GEN_KEYS = st.sampled_from(["steps", "guidance", "clip_seconds", "scheduler"]) | st.text(max_size=6)
CAT_VALUES = st.one_of(PLAUSIBLE, JSON_ANY, HUGE_INTS, WEIRD_FLOATS, st.sampled_from(["ddim", "dpm", -5, 0, 999, 1000,
                                                                                      20.0, 20.5, 60, 61]))


@st.composite
def catalog_doc(draw):
    ids = st.sampled_from(["work", "other", "../x", "", "1"]) | st.text(max_size=8) | st.integers() | st.none()
    works = {}
    for wid in draw(st.lists(ids, max_size=3)):
        info = draw(st.dictionaries(INFO_KEYS, CAT_VALUES, max_size=4))
        if draw(st.booleans()):
            info["generation"] = draw(st.dictionaries(GEN_KEYS, CAT_VALUES, max_size=4) | JSON_ANY)
        works[wid] = info if draw(st.integers(0, 9)) else draw(JSON_ANY)
    doc = {"artworks": works} if draw(st.integers(0, 9)) else draw(JSON_ANY)
    if isinstance(doc, dict) and draw(st.integers(0, 4)) == 0:
        doc[draw(st.text(max_size=6))] = draw(JSON_ANY)
    return doc


@st.composite
def catalog_yaml_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["yaml", "yaml", "yaml", "bytes", "splice"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    doc = yaml_with_tokens(draw, draw(catalog_doc()))
    if kind == "splice":
        at = draw(st.integers(0, len(doc)))
        doc = doc[:at] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3\x28", b"\x00", b"\t"])) + doc[at:]
    return doc


def small_png(seed: int = 0, size: tuple = (96, 128)) -> bytes:
    from installation.camera.synthetic import artwork

    img = cv2.resize(artwork(seed), (size[1], size[0]), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def make_catalog_root(root: Path) -> Path:
    """root/catalog/ with one small PNG, and a file beside it that must stay as it is."""
    (root / "catalog").mkdir(parents=True)
    (root / "catalog" / "work.png").write_bytes(small_png())
    (root / "sibling.txt").write_text("must stay as it is\n")
    return root


@pytest.fixture(scope="module")
def catalog_root(tmp_path_factory) -> Path:
    return make_catalog_root(tmp_path_factory.mktemp("fuzz-catalog"))


def check_catalog(root: Path, text: bytes):
    """load_catalog on a catalog.yaml of these bytes: a Catalog with checked info, or Art2MusError; nothing
    written outside the catalog folder's index."""
    from installation.catalog import INDEX_DIR, ArtworkInfo, Catalog, load_catalog

    folder = root / "catalog"
    (folder / "catalog.yaml").write_bytes(text)
    skip = (f"catalog/{INDEX_DIR}",)
    before = listing(root, skip)
    try:
        cat = load_catalog(folder)
    except Art2MusError as exc:
        assert str(exc)
        cat = None
    assert listing(root, skip) == before, "load_catalog wrote outside its index"
    if cat is None:
        return
    assert isinstance(cat, Catalog) and set(cat.artworks) == {"work"}
    info = cat.artworks["work"].info
    assert isinstance(info, ArtworkInfo)
    assert info.title is None or type(info.title) is str
    assert info.artist is None or type(info.artist) is str
    assert info.year is None or type(info.year) in (int, str)
    g = info.generation
    assert g.steps is None or (type(g.steps) is int and 1 <= g.steps <= 999), g
    assert g.guidance is None or (math.isfinite(g.guidance) and 1 <= g.guidance <= 20), g
    assert g.clip_seconds is None or (math.isfinite(g.clip_seconds) and 0 < g.clip_seconds <= 60), g
    assert g.scheduler in (None, "dpm", "ddim")


@settings(max_examples=120, phases=PHASES, **FUZZ)
@given(text=catalog_yaml_bytes())
@example(text=b"artworks:\n  work:\n    generation: {steps: -5, guidance: .nan}\n")
@example(text=b"artworks:\n  work:\n    title: caf\xe9\n")
@example(text=b"artworks:\n  work:\n    year: 1889-02-30\n")  # an impossible date, read by YAML as a timestamp
@example(text=b"artworks:\n  work:\n    generation: {steps: !!int 1e3}\n")
@example(text=b"artworks:\n  work: &a [*a]\n")
def test_load_catalog_on_any_catalog_yaml_returns_or_raises_art2mus_error(catalog_root, text):
    check_catalog(catalog_root, text)


# ------------------------------------------------------------------------------------------------
# e. bundle manifests
# ------------------------------------------------------------------------------------------------

class OpenedFiles:
    """Every file opened (the `open` audit event: open(), io.open, os.open) while recording."""

    def __init__(self):
        self.recording = False
        self.paths: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if self.recording and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            self.paths.append(os.fsdecode(args[0]))

    def __enter__(self):
        self.paths = []
        self.recording = True
        return self

    def __exit__(self, *exc):
        self.recording = False


OPENED = OpenedFiles()


def _json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _json_paths(v, prefix + (i,))


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def manifest_mutation(draw, manifest: dict, outside: str):
    """(bytes of a mutated manifest.json, whether it names a file outside the bundle)."""
    doc = copy.deepcopy(manifest)
    paths = [p for p in _json_paths(doc) if p]
    files = [p for p in paths if p[-1] == "file"]
    escapes = False
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "set", "extra", "escape", "escape", "huge", "type"]))
        path = draw(st.sampled_from(files if op == "escape" else paths))
        try:
            parent = _parent(doc, path)
            if op == "escape":
                rel = manifest_file_at(manifest, path)
                parent[path[-1]] = draw(st.sampled_from([
                    f"{outside}/{rel}", f"../outside/{rel}", f"onnx/../../outside/{rel}", "/etc/hostname",
                    "../../../../../../etc/hostname", f"./../outside/{rel}"]))
                escapes = True
            elif op == "drop":
                del parent[path[-1]]
            elif op == "set":
                parent[path[-1]] = draw(JSON_ANY)
            elif op == "huge":
                parent[path[-1]] = draw(HUGE_INTS | WEIRD_FLOATS | RAW_NUMBERS)
            elif op == "type":
                old = parent[path[-1]]
                parent[path[-1]] = draw(st.sampled_from([str(old), [old], {"value": old}, None, True, 0]))
            elif op == "extra":
                target = parent[path[-1]]
                if isinstance(target, dict):
                    target[draw(st.text(max_size=8) | st.sampled_from(["dims", "file", "sha256", "variants"]))] = \
                        draw(JSON_ANY)
                elif isinstance(target, list):
                    target.append(draw(JSON_ANY))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation took the path away
    text = dumps_raw(doc).encode()
    wrap = draw(st.sampled_from(["none"] * 6 + ["cut", "latin1", "bom", "utf16", "null", "ff"]))
    if wrap == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif wrap == "latin1":
        text = text.replace(b'"description": "', b'"description": "caf\xe9 ', 1)
        text = text.replace(b'"kind": "', b'"kind": "\xff', 1)
    elif wrap == "bom":
        text = b"\xef\xbb\xbf" + text
    elif wrap == "utf16":
        text = text.decode().encode("utf-16")
    elif wrap == "null":
        text = draw(st.sampled_from([b"null", b"[]", b"1", b'"x"', b"", b"{}"]))
    elif wrap == "ff":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + b"\xff" + text[at:]
    return text, escapes


def manifest_file_at(manifest: dict, path: tuple) -> str:
    try:
        value = _parent(manifest, path)[path[-1]]
        return value if isinstance(value, str) else "onnx/unet.onnx"
    except (KeyError, IndexError, TypeError):
        return "onnx/unet.onnx"


class FuzzBundle:
    def __init__(self, root: Path):
        self.root = root
        self.manifest_bytes = (root / "manifest.json").read_bytes()
        self.manifest = json.loads(self.manifest_bytes)
        self.outside = root.parent / "outside"  # a copy of every file, with the right hashes: a trap


def make_fuzz_bundle(base: Path, bundle: Path) -> FuzzBundle:
    """base/bundle (mutated) and base/outside (the trap: the same files, outside the bundle)."""
    import shutil

    shutil.copytree(bundle, base / "bundle")
    shutil.copytree(bundle, base / "outside")
    return FuzzBundle(base / "bundle")


@pytest.fixture(scope="module")
def fuzz_bundle(tmp_path_factory, tiny_bundle) -> FuzzBundle:
    return make_fuzz_bundle(tmp_path_factory.mktemp("fuzz-bundle"), tiny_bundle)


def check_bundle(fb: FuzzBundle, text: bytes, escapes: bool) -> None:
    from engines.bundle import Bundle, load_bundle

    (fb.root / "manifest.json").write_bytes(text)
    root = fb.root.resolve()
    try:
        for verify in (False, True):
            with OPENED as opened:
                try:
                    bundle = load_bundle(fb.root, verify=verify)
                except Art2MusError as exc:
                    assert str(exc)
                    bundle = None
            outside = [p for p in opened.paths if not Path(p).resolve().is_relative_to(root)]
            assert not outside, f"load_bundle(verify={verify}) opened files outside the bundle: {outside}"
            if bundle is not None:
                assert not escapes, "load_bundle accepted a manifest that names a file outside the bundle"
                assert isinstance(bundle, Bundle)
                for stage in bundle.specs:
                    for variant in (None, *bundle.variants(stage)):
                        assert bundle.stage_path(stage, variant).resolve().is_relative_to(root)
    finally:
        (fb.root / "manifest.json").write_bytes(fb.manifest_bytes)


def test_the_bundle_trap_is_set(fuzz_bundle):
    """The unmutated manifest loads, and a file outside the bundle would pass its hash check if followed."""
    from engines.bundle import file_sha256, load_bundle

    load_bundle(fuzz_bundle.root, verify=True)
    entry = fuzz_bundle.manifest["stages"]["unet"]
    assert file_sha256(fuzz_bundle.outside / entry["file"]) == entry["sha256"]


def test_load_bundle_on_mutated_manifests_returns_or_raises_art2mus_error(fuzz_bundle):
    fb = fuzz_bundle

    @settings(max_examples=80, phases=PHASES, **FUZZ)
    @given(case=manifest_mutation(fb.manifest, str(fb.outside)))
    def fuzz(case):
        check_bundle(fb, *case)

    fuzz()


@pytest.mark.parametrize("mutation", ["absolute", "dotdot", "no-sha256", "extra-dims", "max-seconds-string",
                                      "latin1"])
def test_load_bundle_issue_cases(fuzz_bundle, mutation):
    fb = fuzz_bundle
    doc = copy.deepcopy(fb.manifest)
    escapes = False
    if mutation == "absolute":
        doc["stages"]["unet"]["file"] = str(fb.outside / doc["stages"]["unet"]["file"])
        escapes = True
    elif mutation == "dotdot":
        doc["constants"]["t5_mask"]["file"] = "../outside/" + doc["constants"]["t5_mask"]["file"]
        escapes = True
    elif mutation == "no-sha256":
        del doc["stages"]["vocoder"]["sha256"]
    elif mutation == "extra-dims":
        doc["dims"]["surprise"] = 3
    elif mutation == "max-seconds-string":
        doc["limits"]["max_seconds"] = "lots"
    text = json.dumps(doc).encode()
    if mutation == "latin1":
        text = text.replace(b'"kind": "', b'"kind": "caf\xe9', 1)
    check_bundle(fb, text, escapes)
    if mutation == "max-seconds-string":  # the bundle loads; its limit must then be a number or refused at load
        from engines.bundle import load_bundle

        (fb.root / "manifest.json").write_bytes(text)
        try:
            try:
                bundle = load_bundle(fb.root, verify=False)
            except Art2MusError:
                return
            try:
                assert math.isfinite(bundle.max_seconds)
            except Art2MusError:
                pass
        finally:
            (fb.root / "manifest.json").write_bytes(fb.manifest_bytes)


# ------------------------------------------------------------------------------------------------
# f. images and recognition
# ------------------------------------------------------------------------------------------------

ODD_SIZES = st.sampled_from([(1, 1), (1, 600), (600, 1), (2, 600), (600, 2), (1, 8000), (8000, 1), (16, 16), (15, 200),
                             (16, 193), (3, 3), (100, 1200)])
SIZES = ODD_SIZES | st.tuples(st.integers(1, 300), st.integers(1, 300))
FORMATS = (".png", ".jpg", ".tif", ".bmp", ".webp")


@st.composite
def pixels(draw, size=None, channels=None, dtype=None) -> np.ndarray:
    h, w = size or draw(SIZES)
    c = channels or draw(st.sampled_from([1, 3, 4]))
    dt = dtype or draw(st.sampled_from([np.uint8, np.uint16]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = np.iinfo(dt).max
    kind = draw(st.sampled_from(["noise", "flat", "gradient", "extremes"]))
    shape = (h, w) if c == 1 else (h, w, c)
    if kind == "noise":
        img = rng.integers(0, top, shape, dtype=dt, endpoint=True)
    elif kind == "flat":
        img = np.full(shape, rng.integers(0, top, endpoint=True), dt)
    elif kind == "gradient":
        img = (np.linspace(0, top, w)[None, :] * np.ones((h, 1))).astype(dt)
        img = img if c == 1 else np.repeat(img[:, :, None], c, axis=2)
    else:
        img = rng.choice(np.array([0, top], dt), shape)
    return img


@st.composite
def image_file(draw) -> tuple[str, bytes]:
    """(suffix, file bytes): an encoded image (maybe cut short), random bytes or a format's magic + junk."""
    kind = draw(st.sampled_from(["encoded"] * 4 + ["truncated"] * 2 + ["random", "magic"]))
    suffix = draw(st.sampled_from(FORMATS))
    if kind == "random":
        return suffix, draw(st.binary(max_size=400))
    if kind == "magic":
        magic = draw(st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"BM",
                                      b"RIFF\x00\x00\x00\x00WEBP"]))
        return suffix, magic + draw(st.binary(max_size=200))
    img = draw(pixels())
    if suffix in (".jpg", ".webp", ".bmp") and img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)  # these encoders take 8 bits only
    if suffix == ".jpg" and img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    ok, buf = cv2.imencode(suffix, img)
    if not ok:
        ok, buf = cv2.imencode(".png", img)
        suffix = ".png"
    data = buf.tobytes()
    if kind == "truncated":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    return suffix, data


@settings(max_examples=200, phases=PHASES, **FUZZ)
@given(case=image_file())
@example(case=(".png", cv2.imencode(".png", np.zeros((1, 8000), np.uint8))[1].tobytes()))
@example(case=(".png", cv2.imencode(".png", np.zeros((2, 600, 3), np.uint8))[1].tobytes()))
def test_read_image_returns_float_rgb_or_raises_art2mus_error(fuzz_dir, case):
    check_image(fuzz_dir, case)


def check_image(folder: Path, case) -> None:
    from engines.preprocess import WORKING_SIDE, read_image

    suffix, data = case
    path = folder / f"image{suffix}"
    path.write_bytes(data)
    try:
        img = read_image(path)
    except Art2MusError as exc:
        assert str(exc)
        return
    assert isinstance(img, np.ndarray) and img.dtype == np.float32
    assert img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 1 and max(img.shape[:2]) <= WORKING_SIDE
    assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0


def make_recognizer(folder: Path):
    """A Recognizer for a catalog of two synthetic works."""
    from installation.camera.synthetic import artwork
    from installation.catalog import load_catalog
    from installation.recognition import Recognizer

    folder.mkdir(parents=True, exist_ok=True)
    for seed in (1, 2):
        cv2.imwrite(str(folder / f"work-{seed}.png"), artwork(seed))
    cat = load_catalog(folder)
    assert len(cat.features) == 2
    return Recognizer(cat.features)


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    return make_recognizer(tmp_path_factory.mktemp("fuzz-recognition"))


def bounded_frame(size) -> bool:
    """Frames the recognizer can take here without risking the box: scaled to FRAME_WIDTH (640), at most
    20000 rows (a taller strip asks for gigabytes: see the bounded-memory test, run in a subprocess)."""
    h, w = size
    return h * 640 / w <= 20_000


FRAME_SIZES = (st.sampled_from([(1, 1), (1, 600), (2, 600), (600, 2), (3, 3), (1, 640), (1, 1400), (2, 1281), (16, 16),
                                (1000, 32), (480, 640), (720, 1280), (479, 641)])
               | st.tuples(st.integers(1, 900), st.integers(1, 1400)).filter(bounded_frame))


@st.composite
def camera_frame(draw) -> np.ndarray:
    """A BGR uint8 frame of any size, as a camera or cv2.imdecode(IMREAD_COLOR) gives: noise, flat, or an artwork."""
    h, w = draw(FRAME_SIZES)
    if draw(st.booleans()):
        from installation.camera.synthetic import artwork

        return cv2.resize(artwork(draw(st.integers(0, 5))), (w, h), interpolation=cv2.INTER_AREA)
    img = draw(pixels(size=(h, w), channels=3, dtype=np.uint8))
    return np.ascontiguousarray(img)


@settings(max_examples=15, phases=PHASES, **FUZZ)
@given(frame=camera_frame())
@example(frame=np.zeros((2, 600, 3), np.uint8))
@example(frame=np.full((600, 2, 3), 255, np.uint8))
@example(frame=np.zeros((1, 1, 3), np.uint8))
def test_recognize_any_frame_size_does_not_raise(recognizer, frame):
    check_recognition(recognizer, frame)


def check_recognition(recognizer, frame) -> None:
    from installation.recognition import Recognition

    r = recognizer.recognize(frame)
    assert isinstance(r, Recognition)
    assert r.artwork_id is None or r.artwork_id in recognizer.ids
    assert math.isfinite(r.confidence)


TALL_FRAMES = ((600, 1), (8000, 1), (20000, 3))
MEMORY_MB = 1500
BOUNDED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_DATA, ({mb} << 20, {mb} << 20))
sys.path[:0] = [{repo!r}, {tests!r}]
from pathlib import Path
import numpy as np
import test_fuzz
recognizer = test_fuzz.make_recognizer(Path({folder!r}))
for shape in {shapes!r}:
    try:
        recognizer.recognize(np.zeros(shape + (3,), np.uint8))
        print(shape, "ok", flush=True)
    except Exception as exc:
        print(shape, type(exc).__name__, str(exc).splitlines()[0][:200], flush=True)
"""


def test_recognize_tall_thin_frames_in_bounded_memory(tmp_path):
    """A 1-pixel-wide strip is scaled to 640 px wide first: 8000x1 asks for 9.8 GB. Run under a memory
    limit in a subprocess, so that a failure is an error line here and not the OOM killer on the box."""
    code = BOUNDED.format(mb=MEMORY_MB, repo=str(REPO), tests=str(REPO / "tests"), folder=str(tmp_path / "rec"),
                          shapes=TALL_FRAMES)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(TALL_FRAMES) and all(" ok" in line for line in lines), \
        f"under a {MEMORY_MB} MB limit:\n" + "\n".join(lines)
