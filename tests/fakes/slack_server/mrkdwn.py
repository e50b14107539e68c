"""What Slack renders live in mrkdwn: mentions, broadcasts and links.

Feed text must produce none of it; tests assert that with :func:`live_mentions`
over every mrkdwn piece of a message (:func:`message_mrkdwn_texts`).
"""

from __future__ import annotations

import re
from typing import Any

_ANGLE_RE = re.compile(r"<([^<>]+)>")
_SPECIAL_MENTIONS = frozenset({"channel", "here", "everyone", "group"})
_URL_SCHEME_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|mailto:|tel:)", re.IGNORECASE)


def _is_live_target(target: str) -> bool:
    """Whether the part of ``<target|label>`` before ``|`` is something Slack renders."""
    if target.startswith("!"):
        name = target[1:]
        return name in _SPECIAL_MENTIONS or name.startswith("subteam^")
    if target.startswith(("@", "#")):
        return len(target) > 1
    return bool(_URL_SCHEME_RE.match(target))


def live_mentions(mrkdwn: str) -> list[str]:
    """Return the live markup Slack would render from a mrkdwn string.

    That is every unescaped ``<!channel>``, ``<!here>``, ``<!everyone>``,
    ``<!group>``, ``<!subteam^…>``, ``<@U…>``, ``<#C…>`` and every link
    ``<https://…>`` / ``<https://…|label>`` (whose real target the reader does not
    see), in order of appearance, as the literal ``<…>`` tokens.  Escaped text such
    as ``&lt;!here&gt;`` is shown literally by Slack and therefore not returned.
    Feed-derived text should produce an empty list.
    """
    found: list[str] = []
    for match in _ANGLE_RE.finditer(mrkdwn):
        target = match.group(1).split("|", 1)[0]
        if _is_live_target(target):
            found.append(match.group(0))
    return found


def _collect_mrkdwn(node: Any, out: list[str]) -> None:
    # Walk generically rather than per block type so that mrkdwn objects in places
    # we did not think of (section fields, context elements, option descriptions)
    # are still found.
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            out.append(node["text"])
        for value in node.values():
            if isinstance(value, (dict, list)):
                _collect_mrkdwn(value, out)
    elif isinstance(node, list):
        for item in node:
            _collect_mrkdwn(item, out)


def message_mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Return every piece of text of ``message`` that Slack parses as mrkdwn.

    ``message`` is a record from :attr:`FakeSlack.messages` or a message as
    returned by ``conversations.history`` / passed to ``chat.postMessage``.  The
    result holds the top-level ``text`` and the ``text`` of every
    ``{"type": "mrkdwn"}`` object inside ``blocks`` (section text and fields,
    context elements, ...), plus legacy attachments' ``pretext``/``text``/
    ``footer``/field values and attachment blocks, where ``<…>`` markup is live
    as well.  ``plain_text`` objects are shown literally and are not included;
    neither are rich_text elements (they carry no markup syntax).
    """
    out: list[str] = []
    text = message.get("text")
    if isinstance(text, str) and text:
        out.append(text)
    _collect_mrkdwn(message.get("blocks"), out)
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            for key in ("pretext", "text", "footer"):
                value = attachment.get(key)
                if isinstance(value, str) and value:
                    out.append(value)
            for fld in attachment.get("fields") or []:
                if isinstance(fld, dict) and isinstance(fld.get("value"), str):
                    out.append(fld["value"])
            _collect_mrkdwn(attachment.get("blocks"), out)
    return out
