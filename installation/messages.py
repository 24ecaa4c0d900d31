"""The messages between the kiosk's processes, in one place, and the one validator every socket's
receiver uses.

Every message is a JSON header frame, optionally followed by one raw numpy frame (clips):
    header = {"schema": 1, "kind": ..., "artwork_id": ..., "seq": ..., "ts": ...,
              + for arrays: "dtype": "float32", "shape": [n], "sample_rate": 16000}
Kinds: `artwork` (camera: the artwork in view; "change": true on a change, false on the
once-a-second re-publish; "since": when it changed), `clip` (generator -> audio, with provenance),
`heartbeat` (every process's status, one shape: installation/process.py) and `request` (a
question to the supervisor, answered with a heartbeat).

No pickle on any socket. Sockets get LINGER 0, a receive size cap, and are read with a timeout.
A frame that fails `decode` raises MessageError: receivers log it and drop it, never die.
Conflated sockets (latest-wins) carry single-frame messages only: ZeroMQ's CONFLATE drops
multipart messages down to their last frame.
"""

from __future__ import annotations

import json
import math
import os
import socket as pysocket
import time
from dataclasses import dataclass, field

import numpy as np
import zmq

from engines.errors import Art2MusError

SCHEMA = 1
KINDS = ("artwork", "clip", "heartbeat", "request")
MAX_HEADER_BYTES = 64 * 1024
MAX_CLIP_SECONDS = 120.0
MIN_RATE, MAX_RATE = 8000, 192000
MAX_CLIP_SAMPLES = int(MAX_CLIP_SECONDS * 48000)  # ~23 MB of float32: a 2-minute clip at 48 kHz
MAX_MESSAGE_BYTES = MAX_HEADER_BYTES + 4 * MAX_CLIP_SAMPLES  # ZeroMQ drops (and disconnects) anything bigger
MAX_ID_CHARS = 200
COMMON = ("schema", "kind", "artwork_id", "seq", "ts")
ARRAY = ("dtype", "shape", "sample_rate")


@dataclass(frozen=True)
class Message:
    kind: str
    artwork_id: str | None = None
    seq: int = 0
    ts: float = field(default_factory=time.time)
    data: dict = field(default_factory=dict)  # kind-specific JSON fields (status, change, provenance, ...)
    array: np.ndarray | None = None
    sample_rate: int | None = None


class MessageError(Art2MusError):
    """A frame that is not a valid art2mus message: logged and dropped by receivers."""


def encode(msg: Message) -> list[bytes | memoryview]:
    if msg.kind not in KINDS:
        raise MessageError(f"message kind {msg.kind!r} is unknown; one of {', '.join(KINDS)}")
    clash = set(msg.data) & set(COMMON + ARRAY)
    if clash:
        raise MessageError(f"message data may not set the header's own fields {sorted(clash)}")
    header = {"schema": SCHEMA, "kind": msg.kind, "artwork_id": msg.artwork_id, "seq": msg.seq, "ts": msg.ts,
              **msg.data}
    if msg.array is None:
        return [_dump(header)]
    array = np.ascontiguousarray(msg.array, dtype=np.float32)
    header.update(dtype="float32", shape=list(array.shape), sample_rate=msg.sample_rate)
    return [_dump(header), memoryview(array).cast("B")]


def _dump(header: dict) -> bytes:
    raw = json.dumps(header, ensure_ascii=False).encode()
    if len(raw) > MAX_HEADER_BYTES:
        raise MessageError(f"{header.get('kind')} header of {len(raw)} bytes is over the {MAX_HEADER_BYTES}-byte limit")
    return raw


def _header(frame) -> dict:
    raw = frame.bytes if hasattr(frame, "bytes") else bytes(frame)
    if len(raw) > MAX_HEADER_BYTES:
        raise MessageError(f"header frame of {len(raw)} bytes is over the {MAX_HEADER_BYTES}-byte limit")
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MessageError(f"header frame is not JSON ({str(exc)[:80]})") from None
    if not isinstance(header, dict):
        raise MessageError(f"header is JSON but a {type(header).__name__}, not an object")
    if header.get("schema") != SCHEMA or isinstance(header.get("schema"), bool):
        raise MessageError(f"message schema {header.get('schema')!r} is not {SCHEMA}; "
                           "all kiosk processes must run the same art2mus version")
    return header


def _artwork_id(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS or not value.isprintable():
        raise MessageError(f"artwork_id {str(value)[:60]!r} is not an artwork id (a printable string of "
                           f"1-{MAX_ID_CHARS} characters, or null)")
    return value


def finite_float(value) -> float | None:
    """A JSON number as a finite float, or None (a bool, a string, an int beyond float range, inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _number(header: dict, key: str, default, kind=(int, float)):
    value = header.get(key, default)
    if isinstance(value, bool) or not isinstance(value, kind) or finite_float(value) is None:
        raise MessageError(f"header field {key}={str(value)[:40]!r} is not a finite {'whole ' if kind is int else ''}number")
    return value


def _array(header: dict, frames: list, kind: str) -> tuple[np.ndarray, int]:
    dtype, shape = header.get("dtype"), header.get("shape")
    if dtype != "float32":
        raise MessageError(f"{kind} message: dtype {str(dtype)[:20]!r} is not 'float32'")
    if (not isinstance(shape, list) or len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int)
            or not 0 < shape[0] <= MAX_CLIP_SAMPLES):
        raise MessageError(f"{kind} message: shape {str(shape)[:40]} is not [samples] with 1 to {MAX_CLIP_SAMPLES} "
                           "samples (mono, at most two minutes)")
    rate = _number(header, "sample_rate", None, int)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise MessageError(f"{kind} message: sample_rate {rate} is outside {MIN_RATE}-{MAX_RATE} Hz")
    if shape[0] / rate > MAX_CLIP_SECONDS:
        raise MessageError(f"{kind} message: {shape[0]} samples at {rate} Hz is over {MAX_CLIP_SECONDS:g} s")
    if len(frames) != 2:
        raise MessageError(f"{kind} message: expected 1 data frame, got {len(frames) - 1}")
    buf = frames[1].buffer if hasattr(frames[1], "buffer") else frames[1]
    if len(buf) != shape[0] * 4:
        raise MessageError(f"{kind} message: data frame of {len(buf)} bytes does not hold shape {shape} float32")
    return np.frombuffer(buf, dtype=np.float32), rate


def decode(frames: list) -> Message:
    """One message from raw frames, every header field checked; raises MessageError."""
    if not frames:
        raise MessageError("empty message")
    header = _header(frames[0])
    kind = header.get("kind")
    if kind not in KINDS:
        raise MessageError(f"message kind {str(kind)[:40]!r} is unknown; one of {', '.join(KINDS)}")
    artwork_id = _artwork_id(header.get("artwork_id"))
    seq = _number(header, "seq", 0, int)
    ts = _number(header, "ts", 0.0)
    array = rate = None
    if kind == "clip" or "dtype" in header:
        array, rate = _array(header, frames, kind)
    elif len(frames) != 1:
        raise MessageError(f"{kind} message: {len(frames)} frames where one is expected")
    data = {k: v for k, v in header.items() if k not in COMMON + ARRAY}
    return Message(kind=kind, artwork_id=artwork_id, seq=seq, ts=float(ts), data=data, array=array, sample_rate=rate)


def socket(ctx: zmq.Context, kind: int, endpoint: str, bind: bool, subscribe: bool = True, conflate: bool = False,
           hwm: int | None = None) -> zmq.Socket:
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    if conflate:
        s.setsockopt(zmq.CONFLATE, 1)
    if hwm is not None:
        s.setsockopt(zmq.SNDHWM if kind in (zmq.PUB, zmq.PUSH) else zmq.RCVHWM, hwm)
    if kind == zmq.SUB and subscribe:
        s.setsockopt(zmq.SUBSCRIBE, b"")
    try:
        if bind and endpoint.startswith("ipc://"):
            _ipc_free(endpoint)
        s.bind(endpoint) if bind else s.connect(endpoint)
    except zmq.ZMQError as exc:
        s.close()
        raise Art2MusError(f"ZeroMQ endpoint {endpoint!r} could not be {'bound' if bind else 'connected'}: {exc}; "
                           "check ipc.* in the config (is another kiosk running on this port?)") from None
    return s


def _ipc_free(endpoint: str) -> None:
    """ZeroMQ binding an ipc path that another process listens on silently takes it over: refuse."""
    path = endpoint[len("ipc://"):]
    if not os.path.exists(path):
        return
    probe = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return  # a stale file from a process that died: binding replaces it
    finally:
        probe.close()
    raise zmq.ZMQError(zmq.EADDRINUSE, f"{path} is in use by a running process")


def send(sock: zmq.Socket, msg: Message) -> None:
    sock.send_multipart(encode(msg), copy=False)


def receive(sock: zmq.Socket, timeout_ms: int) -> Message | None:
    """The next message, or None when none arrived within the timeout. Raises MessageError on garbage."""
    if not sock.poll(timeout_ms):
        return None
    return decode(sock.recv_multipart(copy=False))
