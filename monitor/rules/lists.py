"""Named term lists (``rules/lists/*.yaml``): loading, ``extends``, and cycles.

A list's terms are expanded with the terms of the lists it extends, parents first.
Each expanded term keeps the file and path it was written at, so that a problem in
an inherited term, or an explanation naming it, points at the right line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..yamlfile import PathKey, YamlDoc
from . import schema as S
from .problems import Problems, did_you_mean


@dataclass(frozen=True, slots=True)
class ListTerm:
    """One term of an expanded list, and where it was written."""

    term: Any  # a schema term: str, CaseTerm, RegexTerm or NearTerm
    doc: YamlDoc
    path: PathKey


class ListCycle(Exception):
    """A list extends itself, directly or through others."""


class TermLists:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.models: dict[str, S.TermList] = {}
        self.docs: dict[str, YamlDoc] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.models

    def add(self, doc: YamlDoc) -> None:
        """Load one list file; its name is ``name:`` or else the file name."""
        data = doc.data
        if isinstance(data, list):  # a bare list of terms is allowed
            data = {"terms": data}
        model = self.problems.validate(S.TermList, data, doc, ())
        if model is None:
            return
        name = model.name or Path(doc.file).stem
        if name in self.models:
            first = self.docs[name].file
            self.problems.at(doc, ("name",), f"list {name!r} is defined twice", f"first in {first}")
            return
        self.models[name] = model
        self.docs[name] = doc

    def check(self) -> None:
        """Report unknown parents and cycles (once, here, not at every use)."""
        for name, model in self.models.items():
            doc = self.docs[name]
            for i, parent in enumerate(model.extends):
                if parent not in self.models:
                    self.problems.at(
                        doc,
                        ("extends", i),
                        f"list {name!r} extends unknown list {parent!r}",
                        did_you_mean(parent, self.models),
                    )
            try:
                self.expand(name)
            except ListCycle:
                self.problems.at(
                    doc,
                    ("extends",),
                    f"list {name!r} extends itself through a cycle",
                    "remove one `extends` entry from the cycle",
                )

    def expand(self, name: str, stack: frozenset[str] = frozenset()) -> list[ListTerm]:
        """The terms of ``name`` and of every list it extends; raises ListCycle."""
        if name in stack:
            raise ListCycle(name)
        model = self.models.get(name)
        if model is None:  # an unknown parent: reported by check()
            return []
        out: list[ListTerm] = []
        for parent in model.extends:
            out += self.expand(parent, stack | {name})
        doc = self.docs[name]
        return out + [ListTerm(t, doc, ("terms", i)) for i, t in enumerate(model.terms)]

    def expanded(self) -> dict[str, list[Any]]:
        """Every list's terms, expanded (a list in a cycle is empty: it was reported)."""
        out: dict[str, list[Any]] = {}
        for name in self.models:
            try:
                out[name] = [t.term for t in self.expand(name)]
            except ListCycle:
                out[name] = []
        return out
