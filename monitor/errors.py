"""Every error the monitor raises on purpose, in one tree.

    MonitorError                 base: a message and a hint on how to fix it
    ├── ConfigError              bad or missing configuration (file, key)
    ├── RuleError                rule files that do not load (a list of RuleProblem)
    ├── FetchError               one feed could not be fetched
    │   ├── FetchTimeout         connect or total deadline passed
    │   ├── HTTPStatusError      4xx/5xx answer (may carry Retry-After)
    │   ├── TooLarge             body over the size cap (decoded size)
    │   ├── PrivateAddress       the feed's host is a loopback/private address
    │   └── TransportError       DNS, refused, reset, TLS, redirects, unreadable file
    ├── ParseError               the body is not a feed (HTML page, garbage)
    ├── StoreError               the SQLite database cannot be used (locked, read-only,
    │                            corrupt, disk full, path is a folder)
    └── DeliveryError            Slack (or the webhook) did not take an alert
        ├── TransientDeliveryError   429, 5xx, network: retried later
        └── PermanentDeliveryError   invalid_auth, channel_not_found…: marked failed

Third-party exceptions are translated where they enter (fetch, store, deliver) with
``raise … from``; the CLI turns a MonitorError into a message and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class MonitorError(Exception):
    """Base class: ``str(err)`` is the message, ``err.hint`` says how to fix it."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint

    def describe(self) -> str:
        return f"{self}\n  hint: {self.hint}" if self.hint else str(self)


class ConfigError(MonitorError):
    def __init__(self, message: str, *, file: str = "", key: str = "", hint: str = "") -> None:
        self.file = file
        self.key = key
        where = ": ".join(p for p in (file, key) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One finding about a rule file, printed as ``file:line:col: message``."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""
    level: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.level}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class RuleError(MonitorError):
    hint = "run `monitor rules check` to see every problem with its file and line"

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.level == "error"]
        first = str(errors[0]) if errors else "rule files did not load"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


class FetchError(MonitorError):
    hint = "check the feed URL in a browser; the monitor keeps retrying with back-off"
    elapsed: float = 0.0  # seconds spent before it failed (set by Fetcher.fetch)

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class FetchTimeout(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, status: int, *, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}", retry_after=retry_after)
        self.status = status


class TooLarge(FetchError):
    hint = "raise fetch.max_bytes in the config if this feed is really that large"


class PrivateAddress(FetchError):
    """Refused before a byte was sent: the connection reached a loopback, link-local
    or private address (a feed URL, a redirect, or a name resolving there)."""

    hint = (
        "set `fetch.allow_private: true` in the config if this feed is really on your own "
        "network (it also lets a feed's redirect reach such addresses)"
    )


class TransportError(FetchError):
    pass


class ParseError(MonitorError):
    hint = "the URL may point at a web page rather than its RSS/Atom feed"


class StoreError(MonitorError):
    """``kind`` says what went wrong, so the CLI and the hint can be specific."""

    HINTS: ClassVar[dict[str, str]] = {
        "folder": "`database:` must name a file, e.g. data/monitor.db, not a folder",
        "readonly": "the database or its folder is read-only; give the monitor's user write access",
        "locked": "another process holds the database; stop it, or wait and try again",
        "corrupt": "the file is not a monitor database or is damaged; move it aside to start "
        "afresh (alerts already sent would then be sent again)",
        "full": "the disk is full; free some space (the monitor keeps working afterwards)",
        "open": "check that the path in `database:` exists and is writable",
        "error": "",
    }

    def __init__(self, message: str, *, kind: str = "error") -> None:
        super().__init__(message, hint=self.HINTS.get(kind, ""))
        self.kind = kind


class DeliveryError(MonitorError):
    def __init__(self, message: str, *, code: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code


class TransientDeliveryError(DeliveryError):
    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    pass


def error_kind(exc: MonitorError) -> str:
    """A short, bounded name for what failed (a metric's label)."""
    if isinstance(exc, HTTPStatusError):
        return f"http_{exc.status // 100}xx"
    kinds: list[tuple[type[MonitorError], str]] = [
        (FetchTimeout, "timeout"),
        (TooLarge, "too_large"),
        (TransportError, "transport"),
        (ParseError, "parse"),
        (StoreError, "database"),
    ]
    return next((name for cls, name in kinds if isinstance(exc, cls)), "internal")
