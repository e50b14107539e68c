"""The fast paths of ``text.py`` and ``urls.py`` give exactly what the slow paths give.

Every title, summary, content, author, category and link of every corpus document
goes through both, and so do generated tag soup (stray and missing end tags,
entities of every kind, control and odd characters) and generated links.
The slow path of text is the regular-expression version it replaced, kept here.
"""

from __future__ import annotations

import html
import io
import random
import re
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from monitor.feeds import text, urls
from tests.conftest import corpus_documents, needs_corpus

_WS_RE = re.compile(r"\s+")


def slow_plain_text(value: str | None, limit: int = 0) -> str:
    """``plain_text`` before its fast paths, verbatim."""
    if not value:
        return ""
    t = text._CONTROL_RE.sub("", value)
    if "<![" in t:
        t = text._CDATA.sub(" ", t)
    for _ in range(2):
        if text._TAG_START.search(t):
            t = text._from_html(t)
        elif "&" in t:
            t = html.unescape(t)
        else:
            break
        if not text._TAG_START.search(t):
            break
    t = _WS_RE.sub(" ", text._CONTROL_RE.sub("", t)).strip()
    if limit and len(t) > limit:
        t = t[: limit - 1].rstrip() + "…"
    return t


def outcome(func: object, *args: object) -> tuple[str, object]:
    """A value, or the exception's type: the fast path must fail where the slow one does
    (lxml refuses some control characters that entities decode to)."""
    try:
        return "ok", func(*args)  # type: ignore[operator]
    except ValueError as exc:
        return "raises", type(exc)


def fields_of(path: Path) -> Iterator[tuple[str, str]]:
    doc = feedparser.parse(
        io.BytesIO(path.read_bytes()), sanitize_html=False, resolve_relative_uris=False
    )
    for item in doc.entries:
        for name in ("title", "summary", "author"):
            value = dict.get(item, name)
            if isinstance(value, str):
                yield name, value
        for c in dict.get(item, "content") or ():
            if isinstance(c.get("value"), str):
                yield "content", c["value"]
        for t in dict.get(item, "tags") or ():
            if isinstance(t.get("term"), str):
                yield "category", t["term"]
        for name in ("link", "id"):
            value = dict.get(item, name)
            if isinstance(value, str):
                yield "link", value
        for alt in dict.get(item, "links") or ():
            if isinstance(alt.get("href"), str):
                yield "link", alt["href"]


def check_url(raw: str, base: str) -> None:
    assert urls.clean_link(raw, base) == urls.slow_clean_link(raw, base), (raw, base)
    link = urls.slow_clean_link(raw, base)
    assert urls.url_key(link) == urls.slow_url_key(link), link


@needs_corpus
@pytest.mark.parametrize("path", corpus_documents())
def test_fast_paths_agree_on_the_corpus(path: Path) -> None:
    for name, value in fields_of(path):
        if name == "link":
            for base in ("", "https://c.example/feed/"):
                check_url(value, base)
            continue
        for limit in (0, 1000):
            fast = outcome(text.plain_text, value, limit)
            assert fast == outcome(slow_plain_text, value, limit), value[:300]


TAGS = [
    "p", "div", "span", "a", "b", "strong", "em", "i", "br", "hr", "img", "ul", "ol", "li",
    "h2", "blockquote", "pre", "dl", "dt", "dd", "table", "td", "section", "figure",
    "figcaption", "sub", "sup", "code", "font", "script", "wbr", "mark", "time", "q",
]  # fmt: skip
TEXTS = [
    "word", " ", "  two  words ", "\n", "a&amp;b", "&nbsp;", "&#8217;", "&#x2014;", "&copy",
    "AT&T", "Q & A", "&#0;", "&#11;", "&#128;", "&#xD800;", "&#xFFFE;", "&bogus;", "&apos;",
    "5 < 6", "7 > 3", "é", "\u200b", "\x0b", "\x85", "\ufffe", "😀", "&lt;b&gt;x&lt;/b&gt;",
    "&amp;lt;i&amp;gt;", "<!-- c -->", "<![CDATA[x]]>", "\t", "ü&uuml;",
]  # fmt: skip
NICE = ["word", " ", "  two  words ", "\n", "a&amp;b", "&nbsp;", "&#8217;", "Q & A", "é", "😀"]
COMMON = ["p", "a", "b", "strong", "em", "span", "i", "div", "br", "img", "ul", "li"]
ATTRS = ["", ' href="https://x.example/?a=1&amp;b=2"', " class='c'", ' title="a>b"', " x", " a=b"]


def soup(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 14)):
        roll = rng.random()
        tag = rng.choice(TAGS)
        if roll < 0.35:
            parts.append(rng.choice(TEXTS))
        elif roll < 0.7:
            parts.append(f"<{tag.upper() if rng.random() < 0.1 else tag}{rng.choice(ATTRS)}>")
        elif roll < 0.95:
            parts.append(f"</{tag}>")
        else:
            parts.append(f"<{tag}/>")
    return "".join(parts)


def balanced(rng: random.Random, depth: int = 0) -> str:
    """Mostly well-formed trees, so that the fast path is taken often."""
    out = []
    for _ in range(rng.randint(1, 4)):
        if depth < 4 and rng.random() < 0.5:
            tag = rng.choice(COMMON if rng.random() < 0.7 else TAGS)
            inner = balanced(rng, depth + 1)
            out.append(f"<{tag}{rng.choice(ATTRS)}>{inner}</{tag}>")
        else:
            out.append(rng.choice(TEXTS) if rng.random() < 0.1 else rng.choice(NICE))
    return "".join(out)


@pytest.mark.parametrize("seed", range(8))
def test_fast_text_agrees_on_generated_soup(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2500):
        markup = soup(rng) if rng.random() < 0.5 else balanced(rng)
        for limit in (0, 20):
            fast = outcome(text.plain_text, markup, limit)
            assert fast == outcome(slow_plain_text, markup, limit), markup


@pytest.mark.parametrize(
    "raw",
    ["plain", "a\x0bb", "x\u200by", "\ufeffBOM", "tab\tand\nnew\r\nlines", "\x1cfs\x1f", "\u2028ls",
     "é\x0b", "nbsp\xa0here", "  lead and trail  ", "\x00", "\x7f", "ctl\x85"],
)  # fmt: skip
def test_whitespace_and_controls_as_before(raw: str) -> None:
    assert text.plain_text(raw) == slow_plain_text(raw)


URL_PARTS = [
    "https://", "http://", "HTTPS://", "ftp://", "//", "/", "", "www.", "Example.COM", "ex-am.com",
    "bücher.de", "xn--bcher-kva.de", "a..b", ":8080", ":80", ":12:30", "/path", "/a b", "/ä",
    "/%7E", "/%7e", "/%zz", "/a/../b", "/./c", "/;p=1", "?", "?a=1&b=2", "?utm_source=x&id=3",
    "?a", "?a=1+2", "?a=%20", "?b=2&a=1", "?q=ü", "#frag", "#", "/", "//", "@", "user:pw@",
    " ", "\t", "?fbclid=1", "?A=1", "/x.html", "/TRAILING/", "&", "=",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_fast_urls_agree_on_generated_links(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3000):
        raw = "".join(rng.choice(URL_PARTS) for _ in range(rng.randint(1, 7)))
        if rng.random() < 0.6:
            raw = (
                rng.choice(["https://", "http://"])
                + rng.choice(["x.example", "www.a.example"])
                + raw
            )
        for base in ("", "https://b.example/feed/"):
            check_url(raw, base)
