"""Links from feeds: cleaned for display, and canonical for dedupe across feeds.

w3lib (Scrapy's URL library) does the encoding work we would get wrong by hand:
IDN hosts, spaces and non-ASCII in paths, percent-escapes in one canonical form
(``%7E`` and ``~`` are one URL) and the sorted query of its ``canonicalize_url``.
What is ours: which query parameters are tracking, and that ``http``/``https``,
``www.`` and a trailing slash do not make another article.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

# Query parameters that identify a click, not a page.
_TRACKING = frozenset(
    "fbclid gclid dclid msclkid mc_cid mc_eid yclid igshid _hsenc _hsmi mkt_tok ref_src "
    "cmpid ncid sr_share guccounter guce_referrer guce_referrer_sig".split()
)


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low.startswith("utm_") or low in _TRACKING


def clean_link(link: str | None, base: str = "") -> str:
    """Absolute http(s) link without fragment or tracking parameters; '' when unusable."""
    if not link:
        return ""
    raw = link.strip()
    try:
        parts = urlsplit(urljoin(base, raw) if base else raw)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return ""
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, v) for k, v in pairs if not _is_tracking(k)])
        host = parts.netloc.lower()
        return safe_url_string(
            urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))
        )
    except ValueError:
        # e.g. a "port" that is really a time ("http://host:12:30/…"): keep nothing
        return ""


def url_key(link: str) -> str:
    """Canonical form for dedupe: one key for http/https, ``www.``, a trailing slash,
    query order and percent-encoding variants of one article."""
    if not link:
        return ""
    try:
        parts = urlsplit(canonicalize_url(link))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return link
    if host.startswith("www."):
        host = host[4:]
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")
