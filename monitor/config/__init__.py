"""Configuration: a YAML file, overridden by ``MONITOR_*`` environment variables.

Precedence (highest first): ``MONITOR_<NAME>`` (nested with ``__``, e.g.
``MONITOR_SLACK__CHANNEL``), the YAML file, the defaults. Secrets never live in
the file: ``SLACK_BOT_TOKEN``, ``SLACK_WEBHOOK_URL``, ``SLACK_APP_TOKEN`` and
``SLACK_API_URL`` are read from the environment only (see ``Secrets``).

The parts: ``sections.py`` (the models), ``settings.py`` (``Settings``, ``Secrets``),
``load.py`` (reading files, every mistake named with file:line).
"""

from .load import FeedsFile, config_path, load_feeds_file, load_settings
from .sections import (
    DEFAULT_CONFIG,
    Defaults,
    DeliveryConfig,
    FeedConfig,
    FetchConfig,
    HealthConfig,
    MetricsConfig,
    SlackConfig,
    StoriesConfig,
)
from .settings import Secrets, Settings

__all__ = [
    "DEFAULT_CONFIG",
    "Defaults",
    "DeliveryConfig",
    "FeedConfig",
    "FeedsFile",
    "FetchConfig",
    "HealthConfig",
    "MetricsConfig",
    "Secrets",
    "Settings",
    "SlackConfig",
    "StoriesConfig",
    "config_path",
    "load_feeds_file",
    "load_settings",
]
