"""The tokenizer: a text's words, names and figures, as grouping compares them. Pure.

Every token is one string. Words are stemmed lower case ("hack" for Hackers); names
are tokens a text writes as a name (Toyota, 8Base, JLR, cieautomotive.com); aliases
turn every way of writing a name into one token; figures start with "$" ("$2.25m");
Chinese and Japanese text gives overlapping character pairs.

Is a capitalised word a name? In the middle of a sentence, yes, unless the background
has it almost always in lower case. At the start of a sentence, or anywhere in a
Title Case headline, capitals say nothing, so the background decides: a word usually
capitalised mid-sentence ("Ford", "Conpet", never seen at all) is a name, one usually
in lower case ("Researchers", "Critical") is not. Headlines open with the victim
("Ford confirms ransomware attack"), so a rule that ignores first words loses them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .aliases import _CJK, KNOWN, NAME, PLACE, WORD, Aliases, clean
from .figures import PERCENT, UNIT_WORDS, figure
from .lexicon import compact, stem, stop_words

TOKENS_VERSION = 1  # bump when tokens change: the background table must be rebuilt

Caps = Callable[[str], float | None]  # token → share of mid-sentence uses capitalised

_TOKEN = re.compile(
    r"(?P<cur>(?:US|AU|CA|HK|NZ|A|C)?[$€£¥])?\s?"
    rf"(?P<tok>[^\W_{_CJK}]+(?:(?:,(?=\d{{3}}(?!\d))|[-'’.&])[^\W_{_CJK}]+)*)"
    r"(?P<pct>\s?%)?"
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_CN_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s?([万亿])(美元|元|人民币)?")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_NUMBER_UNIT = re.compile(r"(\d[\d,]*(?:\.\d+)?)(k|m|mn|bn|b|kb|mb|gb|tb|pb)", re.IGNORECASE)
_SENTENCE_END = frozenset(".!?:;|\u3002\uff01\uff1f\uff1a\uff1b\uff5c")
_OPENERS = " \t\n\"'“‘«([{*-–—•"
_TLDS = frozenset(
    "com net org io de fr it es co uk jp cn au br ca mx nl be ch at se no dk fi pl ru ua "
    "in kr tw hk sg nz za gov edu info biz us eu ai app dev is".split()
)
# digits glued to these are units or ordinals, not names: 24h, 2FA, 1st, 10x, 90s
_NOT_NAME = re.compile(r"\d+(?:st|nd|rd|th|s|h|x|d|am|pm|fa|fps|hz|mhz|ghz|yo|g|p)", re.IGNORECASE)
MIN_TITLE_CASE = 3  # capitalised words before a headline counts as Title Case
INITIAL_CAPS = 0.5  # a sentence's first word is a name if mostly capitalised elsewhere
MID_CAPS = 0.25  # a capitalised word mid-sentence is a name unless mostly lower case


FIGURE = "figure"


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # what is compared
    label: str  # what people read
    kind: str = WORD  # WORD, NAME, KNOWN (from the alias table), PLACE or FIGURE

    @property
    def name(self) -> bool:
        return self.kind in (NAME, KNOWN, PLACE)


Words = dict[tuple[str, bool], tuple[Token, ...]]  # a word's tokens, remembered
WORDS = 65536  # words remembered: news reuses its vocabulary, so most are seen before


def tokenize(
    text: str, aliases: Aliases, caps: Caps, *, headline: bool = False, words: Words | None = None
) -> list[Token]:
    """Tokens of one text in order; ``headline``: Title Case carries no information.

    ``words`` remembers each word's tokens between calls with the same ``aliases`` and
    ``caps`` (both fixed once built): a word's tokens depend only on the word and on
    whether it opens a sentence, and most of the time goes there."""
    out: list[Token] = []
    if _CJK_RUN.search(text):
        text = _cjk_aliases_and_figures(text, aliases, out)
    title_case = headline and _is_title_case(text)
    matches = list(_TOKEN.finditer(text))
    cleaned = [clean(m["tok"]) for m in matches]
    folded = [c.casefold() for c in cleaned]
    skip = 0
    for i, match in enumerate(matches):
        if skip:
            skip -= 1
            continue
        phrase = aliases.phrase(folded, i)
        if phrase is not None:  # Jaguar Land Rover, Fancy Bear, cyber attack
            skip = phrase[0] - 1
            out.append(Token(phrase[1].token, phrase[1].label, phrase[1].kind))
            continue
        nxt = folded[i + 1] if i + 1 < len(matches) else ""
        fig, unit = _figure(match, nxt)
        if fig is not None:
            skip = int(unit)
            if fig:
                out.append(Token(f"${fig}", fig, FIGURE))
            continue
        initial = title_case or _starts_sentence(text, match.start("tok"))
        if words is None:
            out.extend(_word_tokens(cleaned[i], initial, aliases, caps))
            continue
        key = (cleaned[i], initial)
        known = words.get(key)
        if known is None:
            if len(words) >= WORDS:
                words.clear()
            known = words[key] = tuple(_word_tokens(cleaned[i], initial, aliases, caps))
        out.extend(known)
    for run in _CJK_RUN.findall(text):
        out.extend(Token(run[j : j + 2], run[j : j + 2]) for j in range(len(run) - 1))
    return out


def _cjk_aliases_and_figures(text: str, aliases: Aliases, out: list[Token]) -> str:
    """Chinese and Japanese names and figures (225万美元) into ``out``; returns the text
    with them blanked, so nothing reads them twice."""
    spans: list[tuple[int, int]] = []
    for start, end, alias in aliases.cjk(text):
        out.append(Token(alias.token, alias.label, alias.kind))
        spans.append((start, end))
    for match in _CN_FIGURE.finditer(text):
        value = figure(match[1], match[2], money=bool(match[3]))
        if value:
            out.append(Token(f"${value}", value, FIGURE))
        spans.append(match.span())
    return _blank(text, spans) if spans else text


def capital_uses(text: str) -> Iterator[tuple[str, bool]]:
    """(token, capitalised?) for words in the middle of sentences: the evidence the
    background table keeps about which words are names (see ``tokenize``)."""
    if _is_title_case(text):
        return
    for match in _TOKEN.finditer(text):
        raw = match["tok"]
        if raw[0].isalpha() and not _starts_sentence(text, match.start("tok")):
            for piece in _pieces(clean(raw)):
                low = piece.lower()
                if piece.isalpha() and len(low) >= 3 and low not in stop_words():
                    yield stem(low), piece[0].isupper()


def _figure(match: re.Match[str], nxt: str) -> tuple[str | None, bool]:
    """("" or a figure, whether the next token, casefolded, was its unit) when the
    token is a number; (None, False) when it is not."""
    raw, money = match["tok"], bool(match["cur"])
    if _NUMBER.fullmatch(raw):
        if match["pct"]:
            return figure(raw, "%") or "", False
        if nxt in UNIT_WORDS or nxt in PERCENT:
            return figure(raw, nxt, money=money) or "", True
        return figure(raw, money=money) or "", False
    sized = _NUMBER_UNIT.fullmatch(raw)
    if sized:
        return figure(sized[1], sized[2], money=money) or "", False
    return None, False


def _word_tokens(raw: str, initial: bool, aliases: Aliases, caps: Caps) -> Iterator[Token]:
    alias = aliases.lookup(raw)
    if alias is not None:
        yield Token(alias.token, alias.label, alias.kind)
        return
    domain = _domain(raw)
    if domain:
        alias = aliases.lookup(domain)
        yield (
            Token(alias.token, alias.label, alias.kind)
            if alias
            else Token(compact(domain), raw, NAME)
        )
        return
    for piece in _pieces(raw):
        alias = aliases.lookup(piece)
        if alias is not None:
            yield Token(alias.token, alias.label, alias.kind)
            continue
        token = _word(piece, initial, caps)
        if token is not None:
            yield token
        initial = False  # "Russia-linked": only the first part opens a sentence


def _word(piece: str, initial: bool, caps: Caps) -> Token | None:
    low = piece.lower()
    if low in stop_words():
        return None
    letters = any(c.isalpha() for c in piece)
    digits = any(c.isdigit() for c in piece)
    if not letters:
        return None
    if digits:  # 8Base, Pwn2Own, n8n, APT28, CVE-2025-53770: names
        if len(piece) < 3 or _NOT_NAME.fullmatch(piece):
            return None
        return Token(compact(low), piece, NAME)
    acronym = piece.isupper() and len(piece) >= 2
    if len(low) < 3 and not acronym:
        return None
    token = low if acronym else stem(low)
    if acronym:
        return Token(token, piece, NAME)
    if not piece[0].isupper():
        return Token(token, low)
    share = caps(token)
    least = INITIAL_CAPS if initial else MID_CAPS
    return Token(token, piece, NAME if share is None or share >= least else WORD)


def _pieces(raw: str) -> list[str]:
    """Hyphenated words as their parts (Russia-linked), unless a part is a number or
    very short (CVE-2025-53770, Wi-Fi, TGR-STA-1030), which only mean something whole.
    Dots split too (Node.js), after domains and numbers are taken out."""
    parts = [p for p in re.split(r"[-.&]", raw) if p]
    if len(parts) > 1 and "." not in raw and any(p.isdigit() or len(p) <= 2 for p in parts):
        return [re.sub(r"[-&]", "", raw)]
    return parts


def _domain(raw: str) -> str:
    """The name part of a web address: cieautomotive.com → cieautomotive."""
    labels = raw.lower().split(".")
    if len(labels) < 2 or labels[-1] not in _TLDS or not any(c.isalpha() for c in labels[-2]):
        return ""
    labels = [lab for lab in labels[:-1] if lab != "www"]
    while len(labels) > 1 and labels[-1] in _TLDS:  # co.uk, com.au
        labels.pop()
    return labels[-1] if labels else ""


def _starts_sentence(text: str, at: int) -> bool:
    i = at - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _is_title_case(text: str) -> bool:
    words: list[str] = [
        m["tok"] for m in _TOKEN.finditer(text) if m["tok"][0].isalpha() and len(m["tok"]) > 3
    ]
    capital = sum(w[0].isupper() for w in words)
    return capital >= MIN_TITLE_CASE and capital >= 0.7 * len(words)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """Alias and figure spans replaced by spaces, so nothing reads them twice."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
