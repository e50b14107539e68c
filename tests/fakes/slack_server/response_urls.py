"""``response_url`` hooks: how an app answers a click or a slash command.

Issued by :meth:`FakeSlack.issue_response_url`; each takes 5 posts within 30
minutes, like Slack ("Handling user interaction"). A post may be ephemeral,
``in_channel`` (a new message), replace the clicked message or delete it.
"""

from __future__ import annotations

from typing import Any

from .content import Content, ContentError, check_content
from .replies import Reply, json_reply, truthy
from .workspace import Workspace

#: A response_url takes 5 posts within 30 minutes (Slack's "Handling user interaction").
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


def post(ws: Workspace, root_url: str, path: str, body: dict[str, Any] | str | None) -> Reply:
    # Slack does not document these error bodies; the fake answers JSON so a
    # failed respond() is at least visible in the client's response.
    hook = ws.response_urls.get(path)
    if hook is None:
        return json_reply(404, {"ok": False, "error": "no_service"})
    if ws.clock() - hook.issued > RESPONSE_URL_TTL:
        return json_reply(404, {"ok": False, "error": "expired_url"})
    if hook.uses >= RESPONSE_URL_MAX_USES:
        return json_reply(404, {"ok": False, "error": "used_url"})
    if not isinstance(body, dict):
        return json_reply(400, {"ok": False, "error": "invalid_payload"})
    response_type = body.get("response_type")
    if response_type not in (None, "ephemeral", "in_channel"):
        return json_reply(400, {"ok": False, "error": "invalid_response_type"})
    replace = truthy(body.get("replace_original"))
    delete = truthy(body.get("delete_original"))
    original = ws.by_ts.get((hook.channel, hook.message_ts or ""))
    if (replace or delete) and (hook.kind != "actions" or original is None):
        return json_reply(404, {"ok": False, "error": "message_not_found"})
    content = Content(None, None, None, False)
    if not delete:
        try:
            content = check_content(body)
        except ContentError as exc:
            meta = {"messages": exc.messages}
            return json_reply(400, {"ok": False, "error": exc.error, "response_metadata": meta})
    hook.uses += 1
    if delete and original is not None:
        ws.messages.remove(original)
        del ws.by_ts[(original["channel"], original["ts"])]
    elif replace and original is not None:
        original["text"], original["blocks"] = content.text, content.blocks
    elif response_type == "in_channel":
        ws.store(ws.new_message(hook.channel, content, "response_url"))
    ws.responses.append(
        {
            "url": root_url + path,
            "kind": hook.kind,
            "channel": hook.channel,
            "user": hook.user,
            "message_ts": hook.message_ts,
            "response_type": response_type,
            "replace_original": replace,
            "delete_original": delete,
            "text": content.text,
            "blocks": content.blocks,
        }
    )
    return json_reply(200, {"ok": True})


# ----------------------------------------------------------------- webhooks
