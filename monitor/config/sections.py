"""The sections of the configuration as pydantic models: feeds, defaults, Slack,
stories, fetching, delivery, metrics and health. Unknown keys are refused."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    field_validator,
    model_validator,
)

from ..durations import parse_duration
from ..models import SEVERITIES

DEFAULT_CONFIG = Path("config/monitor.yaml")
FEED_SCHEMES = ("http", "https", "file")
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _interval(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return parse_duration(value)


# a duration, or "auto": adapt to how often the feed publishes (schedule.py)
Interval = Annotated[timedelta | Literal["auto"], BeforeValidator(_interval)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    name: str = Field(min_length=1, description="Shown in alerts and logs; unique.")
    url: str = Field(min_length=1, description="http(s) URL or a local file path.")
    interval: Interval | None = Field(
        None,
        description="Poll interval or `auto`; set here it is explicit: it may poll sooner "
        "than the publisher asks. Default: defaults.interval.",
    )
    max_age: Duration | None = Field(None, description="Older entries never alert.")
    channel: str | None = Field(None, description="Slack channel for this feed's alerts.")
    enabled: bool = True
    title: str | None = Field(None, description="Title as imported, when the name had to differ.")
    tags: list[str] = Field(default_factory=list, description="Folders (OPML), `a/b` when nested.")
    site: str | None = Field(None, description="The publisher's web page (OPML htmlUrl).")
    description: str | None = Field(None, description="A note (OPML description).")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        """``htp://…`` is a typo to report now, not a file the first poll cannot read."""
        found = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", value)
        if found and found.group(1).lower() not in FEED_SCHEMES:
            scheme = found.group(1)
            close = difflib.get_close_matches(scheme.lower(), FEED_SCHEMES, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]}://?" if close else ""
            raise ValueError(
                f"unknown URL scheme {scheme!r}: a feed is http(s)://…, file://… "
                f"or a local path{hint}"
            )
        return value


class Defaults(_Strict):
    interval: Interval = Field(
        timedelta(minutes=5), description="Per-feed poll interval, or `auto`."
    )
    max_age: Duration = Field(
        timedelta(hours=72), description="Entries older than this never alert."
    )
    min_interval: Duration = Field(
        timedelta(minutes=5), description="`auto`: the shortest interval it may choose."
    )
    max_interval: Duration = Field(
        timedelta(hours=24),
        description="`auto`: the longest interval; also the most a publisher's ttl or "
        "max-age may stretch an interval.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Defaults:
        if self.min_interval > self.max_interval:
            raise ValueError("defaults.min_interval is longer than defaults.max_interval")
        return self


class MetricsConfig(_Strict):
    enabled: bool = Field(True, description="Serve /metrics and /healthz while the daemon runs.")
    listen: str = Field(
        "127.0.0.1:9464", description="host:port for /metrics and /healthz (port 0: any free)."
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        port = value.rpartition(":")[2]
        if not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not host:port, e.g. 127.0.0.1:9464 or [::1]:9464")
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)


class HealthConfig(_Strict):
    max_tick_age: Duration = Field(
        timedelta(minutes=5), description="Unhealthy when the scheduler has not ticked for this."
    )
    stuck_after: Duration = Field(
        timedelta(minutes=30),
        description="Unhealthy when alerts have been pending this long and nothing was sent "
        "for this long.",
    )


class SlackConfig(_Strict):
    channel: str = Field("#security-alerts", description="Default channel for alerts.")
    ops_channel: str | None = Field(None, description="Channel for ops alerts (rule errors…).")
    severity_channels: dict[str, str] = Field(
        default_factory=dict, description="Channel per severity, used when a rule names none."
    )
    username: str | None = Field(
        None, description="Display name (webhooks / chat:write.customize)."
    )
    max_alerts_per_poll: int = Field(
        20, ge=1, description="More alerts from one poll are summed up."
    )
    digests: dict[str, Literal["hourly", "daily"]] = Field(
        default_factory=lambda: {"low": "daily", "info": "daily"},  # type: ignore[arg-type]
        description="Severities collected into a digest instead of alerting at once.",
    )
    digest_hour: int = Field(8, ge=0, le=23, description="UTC hour when daily digests go out.")
    mentions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Who to mention per severity: Slack user (U…) or user-group (S…) ids.",
    )
    breaker: int = Field(
        20, ge=2, description="More alerts than this to one channel at once: one digest instead."
    )
    actors: list[str] = Field(
        default_factory=list,
        description="Who may use the alert buttons and /monitor: user (U…) or user-group (S…) "
        "ids; empty: anyone in the channel.",
    )

    @field_validator("actors")
    @classmethod
    def _actor_ids(cls, value: list[str]) -> list[str]:
        for actor in value:
            if not re.fullmatch(r"[UWS][A-Z0-9]{2,20}", actor):
                raise ValueError(
                    f"{actor!r} is not a Slack user (U…/W…) or user-group (S…) id; "
                    "find it in the member's or group's profile, 'Copy member ID'"
                )
        return value

    @field_validator("severity_channels", "digests", "mentions")
    @classmethod
    def _known_severities(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key not in SEVERITIES:
                raise ValueError(f"unknown severity {key!r}; use one of {', '.join(SEVERITIES)}")
        return value

    @field_validator("mentions")
    @classmethod
    def _mention_ids(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for ids in value.values():
            for mention in ids:
                if not re.fullmatch(r"[UWS][A-Z0-9]{2,20}", mention):
                    raise ValueError(
                        f"{mention!r} is not a Slack user (U…/W…) or user-group (S…) id; "
                        "find it in the member's or group's profile, 'Copy member ID'"
                    )
        return value


class StoriesConfig(_Strict):
    window: Duration = Field(timedelta(hours=72), description="Reports this close join a story.")
    threshold: float = Field(0.26, gt=0, lt=1, description="Similarity needed to join a story.")
    enabled: bool = Field(True, description="false: every alert stands alone.")


class FetchConfig(_Strict):
    timeout: Duration = Field(
        timedelta(seconds=30),
        description="Deadline for one whole fetch: connect, TLS, headers, body, redirects.",
    )
    connect_timeout: Duration = Field(timedelta(seconds=10), description="TCP/TLS connect timeout.")
    max_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Size cap per feed body, after decompression."
    )
    # 10,000 feeds at 0.5 s each are 5,000 connection-seconds: 17 at once fill a 300 s
    # cycle. If 5 % of them hang until the 30 s deadline they add 15,000: 50 more. 200
    # leaves three times that; an idle connection costs a coroutine and a socket.
    concurrency: int = Field(200, ge=1, le=5000, description="Feeds fetched at once.")
    per_host: int = Field(2, ge=1, le=64, description="Requests to one host at once.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per fetch.")
    allow_private: bool | list[IPvAnyNetwork] = Field(
        False,
        description="Allow feeds (and redirects) on loopback, link-local and private "
        "addresses: true, or a list of networks such as [10.1.2.0/24].",
    )
    user_agent: str | None = Field(None, description="Overrides the default User-Agent.")
    max_backoff: Duration = Field(timedelta(hours=6), description="Longest wait after failures.")


class DeliveryConfig(_Strict):
    max_wait_429: Duration = Field(
        timedelta(minutes=2), description="`monitor once`: longest Retry-After waited out."
    )
    max_backoff: Duration = Field(timedelta(minutes=30), description="Longest retry spacing.")
