"""Terms as the engine sees them, and the one tokenizer everything shares.

Text is split into word tokens (letters and digits, Unicode-aware); runs of
CJK characters, which carry no spaces, are matched as substrings instead.
A phrase is a token sequence, so ``data theft`` also matches ``data-theft``
and a line break between the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN_RE = re.compile(rf"[^\W_{_CJK}]+|[{_CJK}]+")
HAS_CJK = re.compile(rf"[{_CJK}]")


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


@dataclass(frozen=True, slots=True)
class Atom:
    """One compiled term. ``kind`` is word | phrase | prefix | case | cjk | regex."""

    kind: str
    key: tuple[str, ...]  # tokens (lower case unless kind == "case"); (pattern,) for regex/cjk
    display: str  # as the rule author wrote it
    prefix_last: bool = False  # the last token is a prefix (``ransom*``, ``data leak*``)
    flags: int = 0


class TermSyntaxError(ValueError):
    pass


def word_atom(text: str) -> Atom:
    """A plain string term: word, phrase, prefix (``ransom*``) or CJK substring."""
    raw = text.strip()
    if not raw:
        raise TermSyntaxError("empty term")
    if HAS_CJK.search(raw) and not re.search(r"[^\W\d_]", HAS_CJK.sub("", raw)):
        return Atom("cjk", (raw.lower(),), raw)
    prefix = raw.endswith("*")
    body = raw[:-1] if prefix else raw
    if "*" in body:
        raise TermSyntaxError(f"{raw!r}: `*` is allowed only at the end of a term (prefix)")
    toks = tuple(t.lower() for t in tokens(body))
    if not toks:
        raise TermSyntaxError(f"{raw!r} has no letters or digits, so it can never match")
    if len(toks) == 1:
        return Atom("prefix" if prefix else "word", toks, raw)
    return Atom("phrase", toks, raw, prefix_last=prefix)


def case_atom(text: str) -> Atom:
    toks = tuple(tokens(text))
    if not toks:
        raise TermSyntaxError(f"{text!r} has no letters or digits, so it can never match")
    return Atom("case", toks, text)


def regex_atom(pattern: str, case_sensitive: bool) -> Atom:
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise TermSyntaxError(f"bad regular expression: {exc}") from exc
    if compiled.search(""):
        raise TermSyntaxError("this regular expression matches the empty string, so everything")
    return Atom("regex", (pattern,), f"/{pattern}/", flags=flags)
