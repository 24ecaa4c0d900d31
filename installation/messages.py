"""The messages between the kiosk's processes, in one place.

Every message is a JSON header frame, optionally followed by one raw numpy frame (clips):
    header = {"schema": 1, "kind": ..., "artwork_id": ..., "seq": ..., "ts": ...,
              + for arrays: "dtype": "float32", "shape": [n], "sample_rate": 16000}
No pickle on any socket. Sockets get LINGER 0 and are read with a timeout (no blocking forever).
Conflated sockets (latest-wins) carry single-frame messages only: ZeroMQ's CONFLATE drops
multipart messages down to their last frame.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import zmq

from engines.errors import Art2MusError

SCHEMA = 1
KINDS = ("artwork", "clip", "heartbeat", "status")


@dataclass(frozen=True)
class Message:
    kind: str
    artwork_id: str | None = None
    seq: int = 0
    ts: float = field(default_factory=time.time)
    data: dict = field(default_factory=dict)  # kind-specific JSON fields (confidence, title, state, ...)
    array: np.ndarray | None = None
    sample_rate: int | None = None


class MessageError(Art2MusError):
    """A frame that is not a valid art2mus message: logged and dropped by receivers."""


def encode(msg: Message) -> list[bytes | memoryview]:
    if msg.kind not in KINDS:
        raise MessageError(f"message kind {msg.kind!r} is unknown; one of {', '.join(KINDS)}")
    header = {"schema": SCHEMA, "kind": msg.kind, "artwork_id": msg.artwork_id, "seq": msg.seq, "ts": msg.ts,
              **msg.data}
    if msg.array is None:
        return [json.dumps(header).encode()]
    array = np.ascontiguousarray(msg.array)
    header.update(dtype=str(array.dtype), shape=list(array.shape), sample_rate=msg.sample_rate)
    return [json.dumps(header).encode(), memoryview(array).cast("B")]


def decode(frames: list) -> Message:
    try:
        header = json.loads(bytes(frames[0]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"header frame is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("schema") != SCHEMA:
        raise MessageError(f"message schema {header.get('schema') if isinstance(header, dict) else '?'} is not {SCHEMA}; "
                           "all kiosk processes must run the same art2mus version")
    kind = header.pop("kind", None)
    if kind not in KINDS:
        raise MessageError(f"message kind {kind!r} is unknown")
    common = {k: header.pop(k, None) for k in ("artwork_id", "seq", "ts", "schema")}
    array = None
    if "dtype" in header:
        dtype, shape = header.pop("dtype"), tuple(header.pop("shape"))
        if dtype != "float32" or len(frames) != 2:
            raise MessageError(f"{kind} message: expected one float32 frame, got dtype {dtype} and {len(frames) - 1} frame(s)")
        buf = frames[1].buffer if hasattr(frames[1], "buffer") else frames[1]
        if len(buf) != int(np.prod(shape)) * 4:
            raise MessageError(f"{kind} message: frame of {len(buf)} bytes does not hold shape {list(shape)}")
        array = np.frombuffer(buf, dtype=np.float32).reshape(shape)
    return Message(kind=kind, artwork_id=common["artwork_id"], seq=common["seq"] or 0, ts=common["ts"] or 0.0,
                   data=header, array=array, sample_rate=header.pop("sample_rate", None))


def socket(ctx: zmq.Context, kind: int, endpoint: str, bind: bool, subscribe: bool = True, conflate: bool = False,
           hwm: int | None = None) -> zmq.Socket:
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if conflate:
        s.setsockopt(zmq.CONFLATE, 1)
    if hwm is not None:
        s.setsockopt(zmq.SNDHWM if kind in (zmq.PUB, zmq.PUSH) else zmq.RCVHWM, hwm)
    if kind == zmq.SUB and subscribe:
        s.setsockopt(zmq.SUBSCRIBE, b"")
    try:
        s.bind(endpoint) if bind else s.connect(endpoint)
    except zmq.ZMQError as exc:
        s.close()
        raise Art2MusError(f"ZeroMQ endpoint {endpoint!r} could not be {'bound' if bind else 'connected'}: {exc}; "
                           "check ipc.* in the config (is another kiosk running on this port?)") from None
    return s


def send(sock: zmq.Socket, msg: Message) -> None:
    sock.send_multipart(encode(msg), copy=False)


def receive(sock: zmq.Socket, timeout_ms: int) -> Message | None:
    """The next message, or None when none arrived within the timeout. Raises MessageError on garbage."""
    if not sock.poll(timeout_ms):
        return None
    return decode(sock.recv_multipart(copy=False))
