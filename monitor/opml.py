"""OPML subscription lists in and out: pure functions over bytes and feed settings.

Reading is listparser's (a real OPML parser: OPML 1.0 and 2.0, nested folders,
lenient with what readers such as Inoreader export); its handler is extended only
to keep each outline's ``htmlUrl`` and ``description``, which it reads but drops.
Writing is OPML 2.0 with the standard library's ElementTree. What a round trip
keeps: every feed (also those whose xmlUrl is not http(s), imported disabled), its
title, every folder it sits in (nested folders as ``a/b``), htmlUrl and description.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import listparser
import lxml.etree

from .config import FeedConfig
from .errors import ConfigError

SEPARATOR = "/"  # between nested folder names in a tag


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed of an OPML file."""

    url: str
    title: str
    folders: tuple[str, ...] = ()  # "a/b" for a feed in folder b inside folder a
    site: str = ""
    description: str = ""


class _Handler(listparser.Handler):  # type: ignore[misc]
    """listparser's own handler, also keeping htmlUrl and description by feed URL."""

    def start_opml_outline(self, attrs: dict[str, str]) -> None:
        super().start_opml_outline(attrs)
        url = attrs.get("xmlurl", "").strip()
        found = self.found_urls.get(url) if url else None
        if found is not None:
            obj = found[1]
            obj.setdefault("site", attrs.get("htmlurl", "").strip())
            obj.setdefault("description", attrs.get("description", "").strip())


def read_opml(data: bytes) -> list[Outline]:
    """Every feed of an OPML document, in document order."""
    handler: Any = _Handler()
    handler.harvest.update({"bozo": False, "feeds": [], "lists": [], "opportunities": []})
    handler.harvest.update({"meta": {}, "version": ""})
    parser = lxml.etree.HTMLParser(target=handler, recover=True)
    lxml.etree.parse(io.BytesIO(data), parser)
    harvest = handler.harvest
    handler.close()
    if not harvest.get("version") and not harvest["feeds"]:
        raise ConfigError("not an OPML subscription list", hint="export OPML from your reader")
    return [
        Outline(
            url=f["url"],
            title=f.get("title") or "",
            folders=tuple(SEPARATOR.join(path) for path in f.get("categories") or ()),
            site=f.get("site") or "",
            description=f.get("description") or "",
        )
        for f in harvest["feeds"]
    ]


def polls(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def to_feeds(outlines: Iterable[Outline], taken: Iterable[str]) -> list[FeedConfig]:
    """Feed settings for outlines, each with a name no other feed has: its title, else
    its host; a second feed with the same title gets the host added, then a number.
    The title is kept as ``title`` when the name had to differ. Entries that are no
    http(s) feed (a reader's keyword alerts, newsletters) are kept, disabled."""
    names = set(taken)
    out = []
    for o in outlines:
        base = _clean(o.title) or urlsplit(o.url).hostname or o.url
        name = base
        if name in names:
            host = urlsplit(o.url).hostname
            name = f"{base} ({host})" if host else f"{base} (2)"
        n = 2
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.add(name)
        out.append(
            FeedConfig(
                name=name,
                url=o.url,
                enabled=polls(o.url),
                title=o.title if o.title and o.title != name else None,
                tags=list(o.folders),
                site=o.site or None,
                description=o.description or None,
            )
        )
    return out


def _clean(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip()


def outline_of(feed: FeedConfig) -> Outline:
    return Outline(
        url=feed.url,
        title=feed.title or feed.name,
        folders=tuple(feed.tags),
        site=feed.site or "",
        description=feed.description or "",
    )


def write_opml(feeds: Sequence[FeedConfig], title: str = "monitor feeds") -> bytes:
    """OPML 2.0: folders as nested outlines; a feed in two folders appears in both."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = formatdate(usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}

    def folder(path: tuple[str, ...]) -> ET.Element:
        if path not in folders:
            parent = folder(path[:-1])
            folders[path] = ET.SubElement(parent, "outline", text=path[-1], title=path[-1])
        return folders[path]

    for feed in feeds:
        o = outline_of(feed)
        attrs = {"type": "rss", "text": o.title, "title": o.title, "xmlUrl": o.url}
        if o.site:
            attrs["htmlUrl"] = o.site
        if o.description:
            attrs["description"] = o.description
        for path in o.folders or ("",):
            parts = tuple(p for p in path.split(SEPARATOR) if p)
            ET.SubElement(folder(parts), "outline", attrs)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
