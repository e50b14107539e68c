"""The Slack side of the daemon: the Socket Mode connection and the handlers behind it.

The connection's thread only acknowledges and hands on; handlers run on a small
pool, each thread with its own database connection (``Store(path)``), as the
delivery thread has. Started beside the scheduler when ``SLACK_APP_TOKEN`` is set;
the daemon polls and delivers whether or not the socket is up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import structlog
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from ..config import Secrets, Settings
from ..errors import MonitorError
from ..rules import Engine
from ..store import Store
from .actions import ActionHandler
from .actors import Actors
from .commands import CommandHandler
from .reply import reply
from .socket import Envelope, SocketClient

log = structlog.get_logger("slack")
WORKERS = 4


class SlackApp:
    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        engine: Callable[[], Engine],
        wake: Callable[[], None],
        *,
        ping_interval: float = 10.0,
    ) -> None:
        assert secrets.app_token is not None and secrets.bot_token is not None
        self.settings = settings
        base_url = secrets.api_url
        web = WebClient(
            token=secrets.bot_token.get_secret_value(),
            base_url=_api_base(base_url),
            timeout=10,
            retry_handlers=[
                ConnectionErrorRetryHandler(1),
                ServerErrorRetryHandler(1),
                RateLimitErrorRetryHandler(1),
            ],
        )

        def members(group: str) -> set[str]:
            return {str(u) for u in web.usergroups_users_list(usergroup=group)["users"] or []}

        actors = Actors(settings.slack.actors, members)
        self.actions = ActionHandler(settings, actors, reply, wake)
        self.commands = CommandHandler(engine, actors, reply)
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="slack-action")
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()
        self._commands_seen: deque[str] = deque(maxlen=256)  # a re-sent command answers once
        self.client = SocketClient(
            secrets.app_token.get_secret_value(),
            self._on_envelope,
            base_url=base_url,
            ping_interval=ping_interval,
        )

    def start(self) -> SlackApp:
        self.client.start()
        return self

    def close(self) -> None:
        """The socket first (no new work), then the work in hand, then the connections."""
        self.client.close()
        self.pool.shutdown(wait=True)
        with self._lock:
            for store in self._stores:
                store.close()
            self._stores.clear()

    def _on_envelope(self, envelope: Envelope) -> None:
        try:
            self.pool.submit(self._handle, envelope)
        except RuntimeError:  # stopping: acked but not handled, like a click during a restart
            log.warning("slack.envelope_dropped", type=envelope.type, reason="stopping")

    def _handle(self, envelope: Envelope) -> None:
        payload = envelope.payload
        try:
            if envelope.type == "interactive" and payload.get("type") == "block_actions":
                self.actions.handle(self._store(), payload)
            elif envelope.type == "slash_commands":
                trigger = str(payload.get("trigger_id") or envelope.id)
                with self._lock:
                    if trigger in self._commands_seen:
                        return
                    self._commands_seen.append(trigger)
                self.commands.handle(self._store(), payload)
            else:
                log.debug("slack.ignored", type=envelope.type, payload_type=payload.get("type"))
        except MonitorError as exc:
            log.error("slack.handler_failed", error=str(exc), hint=exc.hint or None)
        except Exception:
            log.exception("slack.handler_bug", type=envelope.type)

    def _store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.settings.database)
            self._local.store = store
            with self._lock:
                self._stores.append(store)
        return store


def _api_base(url: str | None) -> str:
    if not url:
        return WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"
