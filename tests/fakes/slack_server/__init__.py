"""A strict, local fake of Slack's Web API and incoming webhooks.

:class:`FakeSlack` runs a stdlib :class:`http.server.ThreadingHTTPServer` on
``127.0.0.1`` (ephemeral port) in a daemon thread and answers the handful of
Slack endpoints the monitor uses, as the real ``slack_sdk`` clients call them:

* ``POST /api/<method>`` -- ``auth.test``, ``chat.postMessage``, ``chat.update``,
  ``conversations.history`` and ``conversations.list``.  Bodies may be JSON
  (what ``slack_sdk`` sends for ``chat.*``) or ``application/x-www-form-urlencoded``
  (what it sends for everything else, *including* ``conversations.history``:
  ``slack_sdk`` POSTs every method and turns booleans into ``"1"``/``"0"``).
  ``GET`` with a query string is accepted too.
* ``POST /services/T…/B…/…`` -- an incoming webhook that posts to
  ``#security-alerts``.
* Interactivity, for apps that answer buttons and slash commands:
  ``apps.connections.open`` (app-level ``xapp-…`` token only; hands out a
  single-use Socket Mode URL from the attached
  :class:`tests.fakes.socket_mode.FakeSocketMode`), ``chat.postEphemeral``
  (the user must be in the channel; recorded in :attr:`FakeSlack.ephemerals`,
  not in ``messages``) and ``response_url`` hooks (``POST /actions/…`` and
  ``/commands/…``, issued by :meth:`FakeSlack.issue_response_url`; recorded in
  :attr:`FakeSlack.responses`; 5 uses within 30 minutes, like Slack) and
  ``usergroups.users.list`` (the members of a user group added with
  :meth:`FakeSlack.add_usergroup`; scope ``usergroups:read``; ``no_such_subteam``).

The point of the fake is to be *as strict as real Slack* (see
``/work/shared/FIELD-NOTES.md``) so that tests fail where production would:

* the token must come in ``Authorization: Bearer …`` (``not_authed`` /
  ``invalid_auth``; a token in the query string or body is refused);
* channels: ``chat.postMessage`` takes ``#name``, ``name`` or an ID; ``chat.update``
  and ``conversations.history`` take IDs only; ``channel_not_found`` (unknown or
  private), ``not_in_channel``, ``is_archived``;
* Block Kit is validated (50 blocks, section text 1-3000, fields 10 x 2000, header
  plain_text <= 150, context <= 10 elements, actions <= 25, button text <= 75, URL
  <= 3000, ``block_id`` <= 255 and unique ...).  Violations answer ``invalid_blocks``
  with Slack-style ``[ERROR] … [json-pointer:/blocks/0/text/text]`` messages; more
  than 12,000 characters of text across the blocks answers ``msg_blocks_too_long``;
  ``text`` over 40,000 characters is accepted but truncated;
* threads behave like Slack: ``thread_ts`` must be a ``"1234567890.123456"`` string
  (other strings: ``invalid_thread_ts``); a well-formed ts naming no message in the
  channel is accepted with ``ok: true`` but the reply is recorded as an *orphan*
  (invisible in Slack); a reply to a reply lands in the root thread.  A JSON
  *number* ``thread_ts`` is also ``ok: true`` and an orphan, which is what real
  Slack does (python-slack-sdk #840) -- pass ``numeric_thread_ts="reject"`` to get
  ``invalid_thread_ts`` instead;
* optional per-channel rate limiting (token bucket, no burst unless ``burst=``) answering HTTP 429
  with ``Retry-After``, plus scripted failures (:meth:`FakeSlack.fail_next`) and a
  full outage (:meth:`FakeSlack.set_down`);
* optional latency (``latency=`` or :meth:`FakeSlack.set_latency`): each answer
  takes that long and Slack acts halfway, so a client that dies in the second
  half has posted a message it never heard about (:attr:`FakeSlack.in_flight`
  counts requests not answered yet).

Typical use::

    from slack_sdk import WebClient
    from slack_sdk.webhook import WebhookClient
    from tests.fakes.slack_server import FakeSlack, live_mentions, message_mrkdwn_texts

    with FakeSlack(rate_limit_per_channel=1.0) as slack:
        client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
        resp = client.chat_postMessage(channel="#security-alerts", text="hello")
        client.chat_postMessage(channel=resp["channel"], text="more", thread_ts=resp["ts"])
        WebhookClient(slack.webhook_url).send(text="via webhook")

        slack.fail_next(1, status=429, retry_after=1)      # next request is rate limited
        slack.set_down(True)                               # every request answers 503

        assert slack.wait_for(lambda s: len(s.messages) == 3)
        assert not [m for m in slack.messages if m["orphan"]]
        assert all(not live_mentions(t) for m in slack.messages
                   for t in message_mrkdwn_texts(m))

Other helpers: :meth:`FakeSlack.add_channel`, :meth:`FakeSlack.add_webhook`,
:meth:`FakeSlack.top_level`, :meth:`FakeSlack.replies`, :meth:`FakeSlack.orphans`,
:meth:`FakeSlack.clear`, and the pure functions :func:`validate_blocks` /
:func:`blocks_text_length` to check built blocks without a server.

For an end-to-end test start the daemon with ``SLACK_API_URL=slack.base_url``;
the server is thread-safe (one lock around all state) and every accessor returns
a deep copy, so the test thread can read while the daemon posts.

Where each part lives (the package re-exports every public name, so
``from tests.fakes.slack_server import …`` is the only import tests need):

==================== ===========================================================
``fake.py``          :class:`FakeSlack`: lifecycle, setup, request dispatch
``setup.py``         what tests set up (channels, failures, outage, latency, …)
``records.py``       what tests read back (messages, updates, requests, …)
``workspace.py``     the state: channels, users, messages; default ids and tokens
``http.py``          the HTTP server and request bodies as Slack reads them
``api.py``           the Web API's front door: tokens, scopes, method registry
``chat.py``          ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``
``conversations.py`` ``conversations.history``, ``.replies``, ``.list``
``webhooks.py``      incoming webhooks
``response_urls.py`` ``response_url`` hooks
``content.py``       text/blocks/attachments checked as ``chat.postMessage`` does
``blocks.py``        Block Kit validation (pure)
``mrkdwn.py``        live mentions and links in mrkdwn (pure)
``faults.py``        rate limit, scripted failures, outage
``replies.py``       reply shapes, boolean and ts parameters, cursor paging
==================== ===========================================================

The package uses only the standard library.
"""

from .api import ALL_SCOPES
from .blocks import MAX_BLOCKS, MAX_BLOCKS_TEXT, blocks_text_length, validate_blocks
from .content import MAX_TEXT
from .fake import FakeSlack
from .faults import RATE_LIMIT_BURST
from .mrkdwn import live_mentions, message_mrkdwn_texts
from .response_urls import RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL
from .workspace import (
    APP_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNELS,
    DEFAULT_TOKEN,
    DEFAULT_USERS,
    TEAM_ID,
    WEBHOOK_PATH,
)

__all__ = [
    "ALL_SCOPES",
    "APP_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_CHANNELS",
    "DEFAULT_TOKEN",
    "DEFAULT_USERS",
    "MAX_BLOCKS",
    "MAX_BLOCKS_TEXT",
    "MAX_TEXT",
    "RATE_LIMIT_BURST",
    "RESPONSE_URL_MAX_USES",
    "RESPONSE_URL_TTL",
    "TEAM_ID",
    "WEBHOOK_PATH",
    "FakeSlack",
    "blocks_text_length",
    "live_mentions",
    "message_mrkdwn_texts",
    "validate_blocks",
]
