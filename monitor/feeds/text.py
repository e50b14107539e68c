"""Plain text from the HTML that feeds put in titles, summaries and content.

A real HTML parser (lxml), not regular expressions: ``<a title="a>b">x</a>`` is
``x``, and ``5 < 6`` is text. Block elements and ``<br>`` become spaces so words
on either side stay apart; scripts, styles and comments vanish. Descriptions
that escape their HTML (``&lt;p&gt;…``, Limnoria #1539) are parsed a second time.
Nothing here raises on bad input: one malformed field never fails a feed.

Fast paths, same output: text without markup never meets a parser; control
characters in ASCII text are found with ``bytes.translate``; spaces fold with
``str.split`` (it and the regex class ``\\s`` agree on what whitespace is).
``tests/test_text_fast.py`` compares this with the regular-expression version
over the corpus and generated text. (A tag-by-tag fast path for simple markup
was measured: slower than lxml.)
"""

from __future__ import annotations

import html
import re

from lxml import etree
from lxml import html as lxml_html

_TAG_START = re.compile(r"<[A-Za-z!/?]")  # something a parser would read as markup
_CDATA = re.compile(r"<!\[CDATA\[|\]\]>")  # left over from XML: keep what it wrapped
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_ASCII_CONTROLS = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_DROP = {"script", "style", "template", "noscript", "head", "title", "svg", "math"}
_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)


def plain_text(value: str | None, limit: int = 0) -> str:
    """Tags stripped, entities decoded, spaces folded; cut at ``limit`` with an ellipsis."""
    if not value:
        return ""
    text = _drop_controls(value)
    if "<![" in text:
        text = _CDATA.sub(" ", text)
    for _ in range(2):  # a second pass for HTML that was escaped once more
        if "<" in text and _TAG_START.search(text):
            text = _from_html(text)
        elif "&" in text:
            text = html.unescape(text)
        else:
            break
        if "<" not in text or not _TAG_START.search(text):
            break
    # str.split() and \s+ agree on what whitespace is (both Py_UNICODE_ISSPACE)
    text = " ".join(_drop_controls(text).split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _drop_controls(text: str) -> str:
    if text.isascii():  # O(1) in CPython; bytes.translate is a fast C loop
        raw = text.encode("ascii")
        kept = raw.translate(None, _ASCII_CONTROLS)
        return text if len(kept) == len(raw) else kept.decode("ascii")
    return _CONTROL_RE.sub("", text)


def _from_html(markup: str) -> str:
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return html.unescape(markup)  # nothing a parser can use: keep the text as text
    for el in root.iter(etree.Element):
        if not isinstance(el.tag, str):  # comments and processing instructions
            el.text = None
            continue
        tag = el.tag.lower()
        if tag in _DROP:
            el.text = None
            for child in list(el):
                el.remove(child)
        elif tag in _BLOCK:
            el.tail = " " + (el.tail or "")
            el.text = " " + (el.text or "")
    for comment in root.iter(etree.Comment, etree.ProcessingInstruction):
        comment.text = None
    return str(root.text_content())
