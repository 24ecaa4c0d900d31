"""Asking a running supervisor for its status (what `art2mus status` and the demo read)."""

from __future__ import annotations

import zmq

from engines.errors import Art2MusError
from installation import messages


def ask(endpoint: str, timeout_seconds: float = 2.0) -> dict | None:
    """The supervisor's status, or None when nothing answers in time."""
    if not timeout_seconds > 0:
        raise Art2MusError(f"--timeout {timeout_seconds!r} must be above 0 seconds")
    ctx = zmq.Context()
    try:
        req = messages.socket(ctx, zmq.REQ, endpoint, bind=False)
        try:
            messages.send(req, messages.Message("request", data={"what": "status"}))
            reply = messages.receive(req, int(timeout_seconds * 1000))
        except messages.MessageError:
            return None
        finally:
            req.close()
        if reply is None or not isinstance(reply.data.get("status"), dict):
            return None
        return reply.data["status"]
    finally:
        ctx.term()
