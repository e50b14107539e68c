"""Slack's acknowledgement rules for Socket Mode envelopes, as a ledger.

:class:`AckLedger` is the bookkeeping half of
:class:`tests.fakes.socket_mode.FakeSocketMode`: what was sent on which
connection and when, which acks came back and how late, and what broke the
rules.  It does no I/O and takes no lock: the fake calls it while holding its
own condition, and sends the retries it returns.

The rules (Slack's: every envelope is acknowledged within 3 seconds):

* ``ack_timeout``: no ack within ``ack_timeout``; the envelope is re-sent as a
  new envelope with ``retry_attempt`` + 1 and ``retry_reason: "timeout"``, up to
  ``max_retries`` times.  An ack that comes later still counts (``late``).
* ``unknown_envelope``, ``duplicate_ack``, ``bad_message``: an ack for nothing
  sent, a second ack, or a message that is no ack.
* ``payload_not_accepted`` / ``invalid_ack_payload``: see
  :func:`tests.fakes.slack_payloads.ack_payload_problem`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from tests.fakes import slack_payloads as payloads

__all__ = ["AckLedger"]


@dataclass
class _Sent:
    envelope: dict[str, Any]
    conn: int
    at: float  # monotonic
    first_id: str
    acked: bool = False
    expired: bool = False


class AckLedger:
    def __init__(self, ack_timeout: float, max_retries: int) -> None:
        self.ack_timeout = ack_timeout
        self.max_retries = max_retries
        self._sent: dict[str, _Sent] = {}  # by envelope_id, in sending order
        self.acks: list[dict[str, Any]] = []
        self.violations: list[dict[str, Any]] = []

    def sent(self, envelope: dict[str, Any], conn: int, at: float, first_id: str) -> None:
        self._sent[envelope["envelope_id"]] = _Sent(envelope, conn, at, first_id)

    def unsend(self, envelope_id: str) -> None:
        """The envelope never left (its connection was closed): forget it."""
        del self._sent[envelope_id]

    def violate(self, kind: str, envelope_id: str | None, detail: str) -> None:
        self.violations.append({"kind": kind, "envelope_id": envelope_id, "detail": detail})

    def receive(self, conn: int, raw: str | bytes, at: float) -> None:
        """A message from the app, which should be an ack."""
        try:
            message = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(envelope_id, str):
            self.violate("bad_message", None, f"not an ack: {raw!r:.200}")
            return
        sent = self._sent.get(envelope_id)
        if sent is None:
            self.violate("unknown_envelope", envelope_id, "ack for an envelope never sent")
        elif sent.acked:
            self.violate("duplicate_ack", envelope_id, "acknowledged twice")
        else:
            self._ack(conn, sent, message.get("payload"), at - sent.at)

    def _ack(self, conn: int, sent: _Sent, payload: Any, delay: float) -> None:
        envelope = sent.envelope
        sent.acked = True
        late = delay > self.ack_timeout
        if late and not sent.expired:  # came before expire() got to it
            sent.expired = True
            self.violate("ack_timeout", envelope["envelope_id"], f"acked after {delay:.2f}s")
        self.acks.append(
            {
                "envelope_id": envelope["envelope_id"],
                "first_envelope_id": sent.first_id,
                "type": envelope["type"],
                "retry_attempt": envelope["retry_attempt"],
                "delay": delay,
                "late": late,
                "payload": copy.deepcopy(payload),
                "connection": conn,
            }
        )
        problem = payloads.ack_payload_problem(envelope, payload)
        if problem is not None:
            self.violate(problem[0], envelope["envelope_id"], problem[1])

    def expire(self, now: float) -> tuple[list[tuple[dict[str, Any], str]], float | None]:
        """Record the acks missed by ``now``; return (retries to send with the
        envelope ID they repeat, when the next wait ends or ``None``)."""
        retries: list[tuple[dict[str, Any], str]] = []
        deadlines: list[float] = []
        for sent in self._sent.values():
            if sent.acked or sent.expired:
                continue
            if now - sent.at < self.ack_timeout:
                deadlines.append(sent.at + self.ack_timeout)
                continue
            sent.expired = True
            old = sent.envelope
            self.violate("ack_timeout", old["envelope_id"], "no ack within the timeout")
            if old["retry_attempt"] < self.max_retries:
                retries.append((payloads.retry_of(old), sent.first_id))
        return retries, min(deadlines) if deadlines else None

    def envelopes(self) -> list[dict[str, Any]]:
        return [
            {**copy.deepcopy(s.envelope), "first_envelope_id": s.first_id, "connection": s.conn}
            for s in self._sent.values()
        ]
