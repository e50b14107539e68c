"""Finding and reading the files of a rules folder.

    rules/*.yaml            one rule, or a list of rules, per file
    rules/lists/*.yaml      named term lists (``{list: automakers}``); may ``extends``
    rules/exceptions.yaml   feeds and terms that never alert
    rules/aliases/*.yaml    company alias tables: not rules, read elsewhere

Subfolders other than ``aliases`` hold rules too (``lists`` at any depth holds lists).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RuleProblem
from ..yamlfile import YamlDoc, YamlSyntaxError, load_yaml_file
from .problems import Problems

SUFFIXES = (".yaml", ".yml")
ALIASES = "aliases"
LISTS = "lists"
EXCEPTIONS = ("exceptions.yaml", "exceptions.yml")


def rule_files(folder: Path) -> list[Path]:
    """Every file the loader parses, sorted (``aliases/`` is not among them)."""
    return [p for p in _yaml_files(folder) if not _is_alias(folder, p)]


def signature(folder: Path) -> str:
    """Changes whenever a file of the folder is added, removed or edited (for live reload).

    Alias tables count: an edit to one must be noticed although the loader skips them."""
    h = hashlib.blake2b(digest_size=12)
    for p in _yaml_files(folder):
        st = p.stat()
        h.update(f"{p}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


@dataclass
class RuleDocs:
    """The parsed files of a folder, by what they hold."""

    lists: list[YamlDoc] = field(default_factory=list)
    exceptions: list[YamlDoc] = field(default_factory=list)
    rules: list[YamlDoc] = field(default_factory=list)


def read_folder(folder: Path, problems: Problems) -> RuleDocs:
    """Parse every rule file; a file that is not valid YAML is a problem, not a stop."""
    out = RuleDocs()
    for file in rule_files(folder):
        try:
            doc = load_yaml_file(file)
        except YamlSyntaxError as exc:
            hint = "check indentation and quoting around here"
            problems.add(RuleProblem(exc.file, exc.line, exc.col, exc.message, hint))
            continue
        for sub, line, col in doc.duplicate_keys:
            problems.add(
                RuleProblem(doc.file, line, col, f"key {sub[-1]!r} is given twice", "keep one")
            )
        if file.parent.name == LISTS:
            out.lists.append(doc)
        elif file.name in EXCEPTIONS:
            out.exceptions.append(doc)
        else:
            out.rules.append(doc)
    return out


def _yaml_files(folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return sorted(found)


def _is_alias(folder: Path, path: Path) -> bool:
    return path.relative_to(folder).parts[0] == ALIASES
