"""Collecting what is wrong with rule files: every problem at file:line:col, with a hint.

Loading never stops at the first problem: a rule author fixes a file in one go when
``monitor rules check`` lists everything. pydantic's errors are translated here into
the words of the rule language (``unknown key 'mtach'``, did you mean …).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import RuleProblem
from ..yamlfile import PathKey, YamlDoc
from . import schema as S
from .tree import Source

M = TypeVar("M", bound=BaseModel)

# pydantic puts the union tag of a term into error locations; it is not a key of the data
_TAGS = {"word", "list", "case", "regex", "near", "condition"}

# every key the rule language knows, for "did you mean" on an unknown one
_KEYS = (
    set(S.Rule.model_fields)
    | set(S.Condition.model_fields)
    | set(S.RegexTerm.model_fields)
    | set(S.NearTerm.model_fields)
    | set(S.Examples.model_fields)
    | set(S.TermList.model_fields)
    | set(S.Exceptions.model_fields)
    | {"list", "case"}
)


class Problems:
    """The problems found so far; errors stop the load, warnings are reported."""

    def __init__(self) -> None:
        self.items: list[RuleProblem] = []

    def at(
        self,
        doc: YamlDoc | str,
        path: PathKey,
        message: str,
        hint: str = "",
        level: str = "error",
    ) -> None:
        """A problem at ``path`` in ``doc`` (or at the top of a file given by name)."""
        if isinstance(doc, str):
            self.items.append(RuleProblem(doc, 1, 1, message, hint, level))
            return
        line, col = doc.locate(path)
        self.items.append(RuleProblem(doc.file, line, col, message, hint, level))

    def add(self, problem: RuleProblem) -> None:
        self.items.append(problem)

    def extend(self, problems: Iterable[RuleProblem]) -> None:
        self.items.extend(problems)

    def count(self) -> int:
        return len(self.items)

    def errors(self) -> list[RuleProblem]:
        return [p for p in self.items if p.level == "error"]

    def unique(self) -> list[RuleProblem]:
        """Each problem once: a bad term in a list is met once per rule that uses it."""
        return list(dict.fromkeys(self.items))

    def validate(self, model: type[M], data: Any, doc: YamlDoc, path: PathKey) -> M | None:
        """``model`` from ``data``, or None with every validation error recorded."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = _data_path(data, tuple(err["loc"]))
                self.at(doc, path + loc, _message(err), _hint(err, loc))
            return None


def source(doc: YamlDoc, path: PathKey) -> Source:
    line, col = doc.locate(path)
    return Source(doc.file, line, col)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """pydantic locations include union tags ('condition', 'word'); drop what is not data."""
    out: list[Any] = []
    cur = data
    for part in loc:
        if (isinstance(cur, dict) and part in cur) or (
            isinstance(cur, list) and isinstance(part, int) and part < len(cur)
        ):
            out.append(part)
            cur = cur[part]
        elif part in _TAGS:
            continue
        else:
            out.append(part)
            cur = None
    return tuple(out)


def _message(err: Any) -> str:
    loc = [p for p in err["loc"] if p not in _TAGS]
    key = loc[-1] if loc else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"missing key {key!r}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (
            f"a `{ctx.get('tag')}` term is not allowed here (allowed: {ctx.get('expected_tags')})"
        )
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{key}: {msg}" if isinstance(key, str) and key else msg


def _hint(err: Any, loc: PathKey) -> str:
    if err["type"] == "literal_error":
        return "allowed: " + str(err.get("ctx", {}).get("expected", ""))
    if err["type"] != "extra_forbidden" or not loc:
        return ""
    key = str(loc[-1])
    return did_you_mean(key, _KEYS) or "remove it, or check the rule reference in rules/README.md"
