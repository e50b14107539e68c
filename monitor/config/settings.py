"""``Settings``: every section together, overridden by ``MONITOR_*`` environment
variables; ``Secrets``: what is read from the environment only."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ..schedule import Policy
from .sections import (
    Defaults,
    DeliveryConfig,
    Duration,
    FeedConfig,
    FetchConfig,
    HealthConfig,
    MetricsConfig,
    SlackConfig,
    StoriesConfig,
)


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
