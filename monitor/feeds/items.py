"""Items for offline tools (`rules test`, `stories test`): a feed document or
JSON Lines of ``{"id", "title", "summary", "link", "source", "published"}``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import MonitorError, ParseError
from ..models import Entry
from .dates import parse_date
from .fetch import Fetcher
from .parse import parse_feed
from .text import plain_text
from .urls import clean_link, url_key


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    entry: Entry


def load_items(source: str) -> Iterator[Item]:
    if source.startswith(("http://", "https://")):
        # a URL typed on the command line by the operator may be on their own network
        with Fetcher(allow_private=True) as fetcher:
            result = fetcher.fetch(source)
        body, name = result.body or b"", source
    else:
        path = Path(source)
        if not path.is_file():
            raise MonitorError(
                f"{source}: no such file", hint="give a feed file, a URL or a .jsonl file of items"
            )
        body, name = path.read_bytes(), path.name
    head = body.lstrip()[:1]
    if head == b"{":
        yield from _jsonl(body, name)
        return
    now = datetime.now(UTC)
    parsed = parse_feed(body, feed_name=name, base_url=source if "://" in source else "", now=now)
    for entry in parsed.entries:
        yield Item(id=entry.link or entry.key, entry=entry)


def _jsonl(body: bytes, name: str) -> Iterator[Item]:
    for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ParseError(f"{name}:{number}: not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ParseError(f"{name}:{number}: each line must be a JSON object")
        link = clean_link(str(data.get("link") or ""))
        item_id = str(data.get("id", number))
        yield Item(
            id=item_id,
            entry=Entry(
                feed=str(data.get("source") or ""),
                key=item_id,
                url_key=url_key(link),
                link=link,
                title=plain_text(str(data.get("title") or "")),
                summary=plain_text(str(data.get("summary") or "")),
                content=plain_text(str(data.get("content") or "")),
                published=parse_date(str(data.get("published") or "")),
            ),
        )
