"""The monitor: security-news alerts from RSS/Atom feeds to Slack.

Data flows one way: config → schedule → fetch → parse → match → group → route →
store → deliver. The names below are the library's public API; they are
imported on first use (PEP 562), so that `monitor health` does not pay for
feedparser, httpx and slack_sdk at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Alert": "alerts",
    "AlertPayload": "alerts",
    "AlertState": "alerts",
    "Route": "alerts",
    "Story": "alerts",
    "Monitor": "app",
    "Settings": "config",
    "load_settings": "config",
    "ConfigError": "errors",
    "DeliveryError": "errors",
    "FetchError": "errors",
    "MonitorError": "errors",
    "ParseError": "errors",
    "RuleError": "errors",
    "StoreError": "errors",
    "Fetcher": "feeds.fetch",
    "parse_feed": "feeds.parse",
    "Candidate": "models",
    "Entry": "models",
    "Match": "models",
    "Severity": "models",
    "Pipeline": "pipeline",
    "Engine": "rules",
    "load_rules": "rules",
    "Store": "store",
}

__all__ = [
    "Alert",
    "AlertPayload",
    "AlertState",
    "Candidate",
    "ConfigError",
    "DeliveryError",
    "Engine",
    "Entry",
    "FetchError",
    "Fetcher",
    "Match",
    "Monitor",
    "MonitorError",
    "ParseError",
    "Pipeline",
    "Route",
    "RuleError",
    "Settings",
    "Severity",
    "Store",
    "StoreError",
    "Story",
    "__version__",
    "load_rules",
    "load_settings",
    "parse_feed",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .alerts import Alert, AlertPayload, AlertState, Route, Story
    from .app import Monitor
    from .config import Settings, load_settings
    from .errors import (
        ConfigError,
        DeliveryError,
        FetchError,
        MonitorError,
        ParseError,
        RuleError,
        StoreError,
    )
    from .feeds.fetch import Fetcher
    from .feeds.parse import parse_feed
    from .models import Candidate, Entry, Match, Severity
    from .pipeline import Pipeline
    from .rules import Engine, load_rules
    from .store import Store
