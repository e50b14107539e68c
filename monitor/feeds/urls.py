"""Links from feeds: cleaned for display, and canonical for dedupe across feeds.

w3lib (Scrapy's URL library) does the encoding work we would get wrong by hand:
IDN hosts, spaces and non-ASCII in paths, percent-escapes in one canonical form
(``%7E`` and ``~`` are one URL) and the sorted query of its ``canonicalize_url``.
What is ours: which query parameters are tracking, and that ``http``/``https``,
``www.`` and a trailing slash do not make another article.

Most links in feeds are already plain (``https://host/path/``, ASCII, nothing to
quote): those take a fast path that gives the same string without the round
trips through urljoin, w3lib and the query parser. Anything else takes the slow
path; ``tests/test_text_fast.py`` compares both over the corpus and generated links.
"""

from __future__ import annotations

import re
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


# scheme://host/path?query#fragment, where host is plain DNS labels and the path and
# query hold only characters that need no quoting and no normalising ('%' excluded)
_PLAIN = re.compile(
    r"(https?)://((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"((?:/[A-Za-z0-9_~!$'()*+,=:@-]*(?:\.[A-Za-z0-9_~!$'()*+,=:@-]+)*)*/?)"
    r"(?:\?((?:[A-Za-z0-9._~-]+=[A-Za-z0-9._~-]*)(?:&[A-Za-z0-9._~-]+=[A-Za-z0-9._~-]*)*))?"
    r"(?:#[^\s]*)?"
)
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


def clean_link(link: str | None, base: str = "") -> str:
    """Absolute http(s) link without fragment or tracking parameters; '' when unusable."""
    if not link:
        return ""
    m = _PLAIN.fullmatch(link.strip())
    if m is not None and not _DOT_SEGMENT.search(m.group(3)):
        scheme, host, path, query = m.groups()
        if query:
            query = "&".join(p for p in query.split("&") if not _is_tracking(p.split("=", 1)[0]))
        return f"{scheme}://{host.lower()}{path or '/'}" + (f"?{query}" if query else "")
    return slow_clean_link(link, base)


def slow_clean_link(link: str | None, base: str = "") -> str:
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


_PLAIN_KEY = re.compile(
    r"https?://((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?)"
    r"((?:/[A-Za-z0-9_~!$'()*+,=:@-]*(?:\.[A-Za-z0-9_~!$'()*+,=:@-]+)*)*/?)"
)


def url_key(link: str) -> str:
    """Canonical form for dedupe: one key for http/https, ``www.``, a trailing slash,
    query order and percent-encoding variants of one article."""
    m = _PLAIN_KEY.fullmatch(link) if link else None
    if m is not None and not _DOT_SEGMENT.search(m.group(2)):
        host, path = m.groups()
        if host.startswith("www."):
            host = host[4:]
        return host + (path.rstrip("/") or "/")
    return slow_url_key(link)


def slow_url_key(link: str) -> str:
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
