"""Alias tables: the many ways of writing one name (JLR, Jaguar Land Rover, 捷豹路虎) or
one word (blackmail, 勒索, ricatto → extortion), so that reports in other words or other
languages still share it.

Three tables: ``names`` (organisations and groups: two headlines naming different
ones are two stories), ``places`` (names that never tell stories apart) and ``words``.
Shipped defaults live in data/aliases.yaml; users add their own in
``<rules folder>/aliases/*.yaml`` with the same keys.
Forms of up to four characters written with capitals match only with those capitals
(``VW``, ``Kia``, ``Ford``: never "ford" or "kia" in another language); other forms
ignore case. Chinese and Japanese forms match as substrings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..yamlfile import YamlDoc, YamlSyntaxError, load_yaml_file, load_yaml_text
from .lexicon import compact, stem

SHORT = 4  # forms this short, with capitals, keep their case
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{_CJK}]")
# one token as the tokenizer reads it (kept in step with text.py's _TOKEN)
SINGLE = re.compile(rf"[^\W_{_CJK}]+(?:[-'’.&][^\W_{_CJK}]+)*")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?")  # U.S., U.S.A → US, USA
_ELISIONS = frozenset("l dell all dall nell sull un d c qu s j n m t".split())


TABLES = ("names", "places", "words")
# what a token is; names and places are written as names, known names come from `names:`
WORD, NAME, KNOWN, PLACE = "word", "name", "known", "place"
_KINDS = {"names": KNOWN, "places": PLACE, "words": WORD}


@dataclass(frozen=True, slots=True)
class Alias:
    token: str  # what reports share: "jaguarlandrover", "extortion"
    label: str  # what people read: "Jaguar Land Rover"
    kind: str  # KNOWN, PLACE or WORD


def undot(token: str) -> str:
    return token.replace(".", "") if _DOTTED.fullmatch(token) else token


def clean(raw: str) -> str:
    """Possessives and elisions off ("Toyota's" → Toyota, "dell'azienda" → azienda);
    dotted abbreviations joined (U.S. → US)."""
    raw = raw.replace("’", "'")
    if raw.endswith(("'s", "'S")):
        raw = raw[:-2]
    if "'" in raw:
        head, _, tail = raw.partition("'")
        raw = tail if head.lower() in _ELISIONS and tail else raw.replace("'", "")
    return undot(raw)


class Aliases:
    """Compiled alias tables; immutable once built."""

    def __init__(self, tables: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        self._cased: dict[str, Alias] = {}  # short single-token forms, case as written
        self._folded: dict[str, Alias] = {}  # other single-token forms, casefolded
        # forms of several tokens, by their first token (casefolded), longest first
        self._phrases: dict[str, list[tuple[tuple[str, ...], Alias]]] = {}
        self._cjk: dict[str, Alias] = {}  # Chinese and Japanese forms
        for table in TABLES:
            kind = _KINDS[table]
            for label, forms in tables.get(table, {}).items():
                token = stem(compact(label)) if kind == WORD else compact(label)
                alias = Alias(token, label, kind)
                for form in (label, *forms):
                    self._add(form.strip(), alias)
        for entries in self._phrases.values():
            entries.sort(key=lambda e: -len(e[0]))
        # one alternation, longest first; only ever run on text that has CJK in it
        cjk = "|".join(re.escape(f) for f in sorted(self._cjk, key=len, reverse=True))
        self._cjk_pattern = re.compile(cjk) if cjk else None

    def _add(self, form: str, alias: Alias) -> None:
        if not form:
            return
        if CJK_CHAR.search(form):
            self._cjk[form] = alias
            return
        single = undot(form)
        if SINGLE.fullmatch(single):
            if len(single) <= SHORT and not single.islower():
                self._cased[single] = alias
            else:
                self._folded[single.casefold()] = alias
            return
        tokens = tuple(clean(t).casefold() for t in SINGLE.findall(form))
        if tokens:
            self._phrases.setdefault(tokens[0], []).append((tokens, alias))

    def lookup(self, token: str) -> Alias | None:
        """The alias of one token as written ("JLR", "Toyota", "ricatto"), if any."""
        if len(token) <= SHORT and token in self._cased:
            return self._cased[token]
        return self._folded.get(token.casefold())

    def phrase(self, folded: Sequence[str], at: int) -> tuple[int, Alias] | None:
        """The longest several-token form starting at token ``at`` of a text's tokens
        (cleaned, casefolded), as (number of tokens, alias)."""
        for tokens, alias in self._phrases.get(folded[at], ()):
            if tuple(folded[at : at + len(tokens)]) == tokens:
                return len(tokens), alias
        return None

    def cjk(self, text: str) -> Iterator[tuple[int, int, Alias]]:
        """Spans of Chinese and Japanese forms in ``text``, left to right."""
        if self._cjk_pattern is not None and CJK_CHAR.search(text):
            for match in self._cjk_pattern.finditer(text):
                yield match.start(), match.end(), self._cjk[match.group()]


def load_aliases(folder: Path | None = None) -> Aliases:
    """The shipped tables, extended by ``folder/aliases/*.yaml`` when ``folder`` (the
    rules folder) is given. A user form wins over the same shipped form."""
    shipped = resources.files(__package__).joinpath("data", "aliases.yaml")
    files = [_tables(load_yaml_text(shipped.read_text("utf-8"), "aliases.yaml (shipped)"))]
    if folder is not None and (folder / "aliases").is_dir():
        for path in sorted((folder / "aliases").glob("*.y*ml")):
            try:
                files.append(_tables(load_yaml_file(path)))
            except YamlSyntaxError as exc:
                raise ConfigError(
                    exc.message,
                    file=f"{exc.file}:{exc.line}:{exc.col}",
                    hint="check indentation and quoting around here",
                ) from exc
    merged: dict[str, dict[str, list[str]]] = {table: {} for table in TABLES}
    for tables in files:
        for table, entries in tables.items():
            for label, forms in entries.items():
                merged[table].setdefault(label, []).extend(forms)
    return Aliases(merged)


def _tables(doc: YamlDoc) -> dict[str, dict[str, list[str]]]:
    """Validated tables of one file; unknown keys are refused."""
    data: Any = doc.data or {}

    def fail(path: tuple[str | int, ...], message: str) -> ConfigError:
        line, col = doc.locate(path)
        return ConfigError(
            message,
            file=f"{doc.file}:{line}:{col}",
            hint="write `names:`, `places:` or `words:`, each mapping a name to a list of forms",
        )

    if not isinstance(data, dict):
        raise fail((), "an alias file must be a mapping")
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise fail((unknown[0],), f"unknown key {unknown[0]!r}")
    out: dict[str, dict[str, list[str]]] = {}
    for key in TABLES:
        table = data.get(key) or {}
        if not isinstance(table, dict):
            raise fail((key,), f"`{key}` must be a mapping")
        checked: dict[str, list[str]] = {}
        for label, forms in table.items():
            forms = forms or []
            if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
                raise fail((key, label), f"the forms of {label!r} must be a list of text")
            if not compact(str(label)):
                raise fail((key, label), f"{label!r} has no letters or digits")
            checked[str(label)] = list(forms)
        out[key] = checked
    return out
