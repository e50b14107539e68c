"""The Web API's front door: which method, which token, which scope.

Every ``POST /api/<method>`` (``GET`` with a query string too) goes through
:func:`call`: the token must come in ``Authorization: Bearer …`` (``not_authed``;
a token in the query string or body is ``invalid_auth``, as for every app created
since 2021); ``apps.connections.open`` takes an app-level ``xapp-…`` token and
nothing else does (``not_allowed_token_type``); a method whose scope the token
lacks answers ``missing_scope``.  The methods themselves live by family in
``chat.py`` and ``conversations.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from . import chat, conversations
from .replies import Reply, api_error, json_reply
from .workspace import BOT_ID, BOT_USER_ID, TEAM_ID, Workspace

#: The scope each method needs (public channels), as Slack documents it.
SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.list": "channels:read",
    "usergroups.users.list": "usergroups:read",
}
ALL_SCOPES = frozenset(SCOPES.values())


def auth_test(ws: Workspace, params: dict[str, Any]) -> Reply:
    return json_reply(
        200,
        {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "monitor",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        },
    )


def usergroups_users_list(ws: Workspace, params: dict[str, Any]) -> Reply:
    group = params.get("usergroup")
    if not isinstance(group, str) or not group:
        return api_error("invalid_arguments")
    if group not in ws.usergroups:
        return api_error("no_such_subteam")
    return json_reply(200, {"ok": True, "users": list(ws.usergroups[group])})


def apps_connections_open(ws: Workspace, params: dict[str, Any]) -> Reply:
    if ws.socket_mode_url is None:
        return api_error("fake_slack_bug: no FakeSocketMode attached")
    return json_reply(200, {"ok": True, "url": ws.socket_mode_url()})


METHODS: dict[str, Callable[[Workspace, dict[str, Any]], Reply]] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "usergroups.users.list": usergroups_users_list,
    **chat.METHODS,
    **conversations.METHODS,
}


def call(
    ws: Workspace, name: str, query: str, headers: dict[str, str], record: dict[str, Any]
) -> Reply:
    """Answer one Web API request; ``record`` (what FakeSlack.requests keeps) gets the token."""
    method = METHODS.get(name)
    if method is None:
        return api_error("unknown_method")
    body = record["body"]
    if isinstance(body, str):
        return api_error(
            "invalid_json"
            if record["content_type"].startswith("application/json")
            else "invalid_form_data"
        )
    query_params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    params: dict[str, Any] = {**query_params, **(body or {})}

    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if authorization is None:
        # Since 2021 Slack refuses tokens in the query string / body for new apps.
        if "token" in params:
            record["token"] = params["token"]
            return api_error("invalid_auth")
        return api_error("not_authed")
    token = authorization[len("Bearer ") :].strip() if authorization.startswith("Bearer ") else ""
    record["token"] = token or authorization
    # apps.connections.open takes an app-level token and nothing else does.
    wanted, other = (
        (ws.app_tokens, ws.tokens)
        if name == "apps.connections.open"
        else (ws.tokens, ws.app_tokens)
    )
    if token in other:
        return api_error("not_allowed_token_type")
    if token not in wanted:
        return api_error("invalid_auth")
    params.pop("token", None)
    needed = SCOPES.get(name)
    if needed and needed not in ws.scopes:
        return api_error("missing_scope", needed=needed, provided=",".join(sorted(ws.scopes)))
    return method(ws, params)
