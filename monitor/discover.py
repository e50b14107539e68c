"""A web page's feeds, from its ``<link rel="alternate">`` tags: pure, over bytes."""

from __future__ import annotations

from urllib.parse import urljoin

import lxml.html

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
)


def feed_links(html: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds a page announces, in the page's order, RSS/Atom first."""
    try:
        doc = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    found: list[tuple[int, str]] = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            url = urljoin(base_url, href)
            if url not in (u for _, u in found):
                found.append((FEED_TYPES.index(kind), url))
    return [u for _, u in sorted(found, key=lambda pair: pair[0] >= 3)]
