"""Configuration: a YAML file, overridden by ``MONITOR_*`` environment variables.

Precedence (highest first): ``MONITOR_<NAME>`` (nested with ``__``, e.g.
``MONITOR_SLACK__CHANNEL``), the YAML file, the defaults below. Secrets never
live in the file: ``SLACK_BOT_TOKEN``, ``SLACK_WEBHOOK_URL``, ``SLACK_APP_TOKEN`` and
``SLACK_API_URL`` are read from the environment only (see ``Secrets``).
"""

from __future__ import annotations

import difflib
import os
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
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .durations import parse_duration
from .errors import ConfigError
from .models import SEVERITIES
from .schedule import Policy
from .yamlfile import YamlDoc, YamlSyntaxError, load_yaml_file

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


class Settings(BaseSettings):
    """Everything the monitor reads from ``config/monitor.yaml``."""

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database: Path = Field(Path("data/monitor.db"), description="SQLite file; folder created.")
    rules: Path = Field(Path("rules"), description="Folder of rule files.")
    tick: Duration = Field(
        timedelta(seconds=15), description="How often the daemon looks for due feeds."
    )
    retention: Duration = Field(
        timedelta(days=180), description="Entries older than this are pruned."
    )
    slack: SlackConfig = SlackConfig()
    defaults: Defaults = Defaults()
    fetch: FetchConfig = FetchConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    stories: StoriesConfig = StoriesConfig()
    metrics: MetricsConfig = MetricsConfig()
    health: HealthConfig = HealthConfig()
    feeds_file: Path | None = Field(
        None,
        description="Feeds managed by `monitor feeds`; default: feeds.yaml beside the config.",
    )
    feeds: list[FeedConfig] = Field(default_factory=list)
    # names of the feeds that came from feeds_file (the rest are the config's own)
    _managed: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML arrives as init kwargs; the environment must win over it.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _unique_feed_names(self) -> Settings:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.name in seen:
                raise ValueError(f"two feeds are named {feed.name!r}; feed names must be unique")
            seen.add(feed.name)
        return self

    @property
    def managed(self) -> frozenset[str]:
        """Names of the feeds from ``feeds_file`` (``monitor feeds`` may change those)."""
        return self._managed

    def with_managed(self, feeds: list[FeedConfig]) -> Settings:
        """These settings with the feeds file's feeds replaced by ``feeds``."""
        own = [f for f in self.feeds if f.name not in self._managed]
        copy = self.model_copy(update={"feeds": own + list(feeds)})
        copy._managed = frozenset(f.name for f in feeds)
        return copy

    def policy(self, feed: FeedConfig) -> Policy:
        """The user's side of the schedule for one feed (``schedule.py``)."""
        chosen = feed.interval or self.defaults.interval
        return Policy(
            interval=None if chosen == "auto" else _seconds(chosen),
            explicit=feed.interval is not None and feed.interval != "auto",
            min_interval=self.defaults.min_interval.total_seconds(),
            max_interval=self.defaults.max_interval.total_seconds(),
        )

    def max_age(self, feed: FeedConfig) -> timedelta:
        return feed.max_age or self.defaults.max_age


class Secrets(BaseModel):
    """Read from the environment only; never logged (SecretStr hides them in reprs)."""

    model_config = ConfigDict(frozen=True)

    bot_token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-…: Socket Mode (buttons, /monitor)
    api_url: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Secrets:
        env = dict(os.environ) if env is None else env
        return cls(
            bot_token=SecretStr(env["SLACK_BOT_TOKEN"]) if env.get("SLACK_BOT_TOKEN") else None,
            webhook_url=SecretStr(env["SLACK_WEBHOOK_URL"])
            if env.get("SLACK_WEBHOOK_URL")
            else None,
            app_token=SecretStr(env["SLACK_APP_TOKEN"]) if env.get("SLACK_APP_TOKEN") else None,
            api_url=env.get("SLACK_API_URL") or None,
        )


def _seconds(value: timedelta | str) -> float:
    assert isinstance(value, timedelta)
    return value.total_seconds()


def config_path(explicit: str | Path | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate; any problem becomes a ConfigError naming file and key."""
    file = config_path(path)
    if not file.is_file():
        raise ConfigError(
            "configuration file not found",
            file=str(file),
            hint="pass --config FILE, set MONITOR_CONFIG, or copy config/monitor.yaml",
        )
    try:
        doc = load_yaml_file(file)
    except YamlSyntaxError as exc:
        raise ConfigError(exc.message, file=f"{exc.file}:{exc.line}:{exc.col}") from exc
    data: Any = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of settings", file=str(file))
    _no_duplicate_keys(doc, file)
    _unique_names([(doc, file)])
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise _config_error(exc, doc, file) from exc
    feeds_file = settings.feeds_file or file.parent / "feeds.yaml"
    settings = settings.model_copy(update={"feeds_file": feeds_file})
    return settings.with_managed(load_feeds_file(feeds_file, settings, (doc, file)))


class FeedsFile(_Strict):
    """The feeds file: feeds added by `monitor feeds add` or `import`, never by hand
    in config/monitor.yaml, so that file and its comments are never rewritten."""

    feeds: list[FeedConfig] = Field(default_factory=list)


def load_feeds_file(
    path: Path, settings: Settings, config: tuple[YamlDoc, Path] | None = None
) -> list[FeedConfig]:
    """The feeds file's feeds, validated like the config's: every problem names the
    file and line. A name the config already uses is an error at the file's line."""
    if not path.is_file():
        return []
    try:
        doc = load_yaml_file(path)
    except YamlSyntaxError as exc:
        raise ConfigError(exc.message, file=f"{exc.file}:{exc.line}:{exc.col}") from exc
    data: Any = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with `feeds:`", file=str(path))
    _no_duplicate_keys(doc, path)
    if config is not None:  # at load: the config's own feeds, with their lines
        _unique_names([config, (doc, path)])
    else:  # a live reload: the config's feeds as loaded
        _unique_names(
            [(doc, path)], [f.name for f in settings.feeds if f.name not in settings.managed]
        )
    try:
        return FeedsFile(**data).feeds
    except ValidationError as exc:
        raise _config_error(exc, doc, path) from exc


def _no_duplicate_keys(doc: YamlDoc, file: Path) -> None:
    if doc.duplicate_keys:
        sub, line, col = doc.duplicate_keys[0]
        raise ConfigError(
            "key given twice",
            file=f"{file}:{line}:{col}",
            key=_dotted(sub),
            hint="remove one of the two",
        )


def _unique_names(
    docs: list[tuple[YamlDoc, Path] | None], taken: list[str] | tuple[str, ...] = ()
) -> None:
    """Two feeds with one name: the error points at the second one's line."""
    seen = {name: "the configuration" for name in taken}
    for pair in docs:
        if pair is None:
            continue
        doc, file = pair
        feeds = doc.data.get("feeds") if isinstance(doc.data, dict) else None
        for i, feed in enumerate(feeds if isinstance(feeds, list) else []):
            name = feed.get("name") if isinstance(feed, dict) else None
            if not isinstance(name, str):
                continue
            if name in seen:
                line, col = doc.locate(("feeds", i, "name"))
                raise ConfigError(
                    f"a second feed named {name!r} (the first is in {seen[name]})",
                    file=f"{file}:{line}:{col}",
                    key=f"feeds[{i}].name",
                    hint="feed names must be unique; rename one",
                )
            line, _ = doc.locate(("feeds", i, "name"))
            seen[name] = f"{file}:{line}"


def _config_error(exc: ValidationError, doc: YamlDoc, file: Path) -> ConfigError:
    """Every problem on its own line as ``file:line:col: key: message (hint)``;
    unknown keys first, since a misspelt key also makes a required one missing."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    lines = []
    for err in errors:
        loc = tuple(err["loc"])
        env_name = _env_name(loc)
        if env_name in os.environ:
            where = f"environment variable {env_name}"
        else:
            line, col = doc.locate(loc)
            where = f"{file}:{line}:{col}"
        hint = _hint(err, loc)
        msg = (
            "unknown key"
            if err["type"] == "extra_forbidden"
            else str(err["msg"]).removeprefix("Value error, ")
        )
        lines.append(f"{where}: {_dotted(loc)}: {msg}" + (f" (hint: {hint})" if hint else ""))
    error = ConfigError("\n".join(lines), hint="README lists every setting")
    error.file, error.key = str(file), _dotted(tuple(errors[0]["loc"]))
    return error


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _env_name(loc: tuple[Any, ...]) -> str:
    return "MONITOR_" + "__".join(str(p).upper() for p in loc if not isinstance(p, int))


def _hint(err: Any, loc: tuple[Any, ...]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1)
        return f"did you mean {close[0]!r}?" if close else "unknown key; see README's settings"
    if kind == "missing":
        return f"add `{loc[-1]}:` here"
    return ""


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    model: Any = Settings
    for part in parent:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        model = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if model is None:
            return []
    return list(model.model_fields)
