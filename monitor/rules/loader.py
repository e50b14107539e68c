"""Rule files on disk → a checked, compiled RuleSet, or RuleError with every problem.

The steps, each in its own module:
    files.read_folder       parse the YAML files, sorted into rules, lists, exceptions
    lists.TermLists         named lists, ``extends``, cycles
    compile.Compiler        schema models → condition trees over one atom table
    engine.Engine           the matcher over the compiled rules
    checks                  examples under ``tests:``, and warnings about terms
Every problem is reported as ``file:line:col`` with a hint; nothing half-loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RuleError, RuleProblem
from ..yamlfile import PathKey, YamlDoc
from . import schema as S
from .checks import ExampleKey, check_examples, lint
from .compile import Compiler
from .engine import Engine
from .files import read_folder, signature
from .lists import TermLists
from .problems import Problems, source
from .tree import CompiledRule, Source


@dataclass
class RuleSet:
    engine: Engine
    rules: list[S.Rule]  # every rule, disabled ones too
    lists: dict[str, list[Any]]  # each list's terms, with those it extends
    problems: list[RuleProblem] = field(default_factory=list)  # warnings only
    signature: str = ""


def load_rules(folder: Path | str, *, run_examples: bool = True) -> RuleSet:
    """Load, validate and compile; raises RuleError listing every problem.

    ``run_examples=False`` skips the examples and the warnings (for quick dry runs)."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = RuleProblem(
            str(folder),
            1,
            1,
            "rules folder not found",
            "set `rules:` in the config to the folder of rule files",
        )
        raise RuleError([problem])
    problems = Problems()
    docs = read_folder(folder, problems)
    lists = TermLists(problems)
    for doc in docs.lists:
        lists.add(doc)
    lists.check()
    compiler = Compiler(problems, lists)
    rules, examples = _read_rules(docs.rules, problems)
    compiled: list[CompiledRule] = []
    for rule, doc, path in rules:
        if rule.enabled:
            built = compiler.rule(rule, doc, path)
            if built is not None:
                compiled.append(built)
    exceptions = compiler.exceptions(docs.exceptions)
    engine = Engine(compiler.atoms, compiled, exceptions)
    models = [rule for rule, _, _ in rules]
    if run_examples:
        problems.extend(check_examples(engine, models, examples))
        problems.extend(lint(compiler.marks))
    if problems.errors():
        raise RuleError(problems.unique())
    return RuleSet(
        engine=engine,
        rules=models,
        lists=lists.expanded(),
        problems=problems.unique(),
        signature=signature(folder),
    )


Located = tuple[S.Rule, YamlDoc, PathKey]


def _read_rules(
    docs: list[YamlDoc], problems: Problems
) -> tuple[list[Located], dict[ExampleKey, Source]]:
    """Every valid rule with where it is, ids unique; and where each example is."""
    out: list[Located] = []
    examples: dict[ExampleKey, Source] = {}
    first: dict[str, Source] = {}
    for doc in docs:
        for item, path in _items(doc, problems):
            rule = problems.validate(S.Rule, item, doc, path)
            if rule is None:
                continue
            if rule.id in first:
                problems.at(
                    doc,
                    (*path, "id"),
                    f"duplicate rule id {rule.id!r}",
                    f"already used at {first[rule.id].file}:{first[rule.id].line}; "
                    "ids must be unique",
                )
                continue
            first[rule.id] = source(doc, path)
            out.append((rule, doc, path))
            for kind in ("match", "no_match"):
                for i in range(len(getattr(rule.tests, kind))):
                    examples[(rule.id, kind, i)] = source(doc, (*path, "tests", kind, i))
    return out, examples


def _items(doc: YamlDoc, problems: Problems) -> list[tuple[Any, PathKey]]:
    """The rule mappings of a file: one rule, a list of rules, or ``rules: [...]``."""
    data = doc.data
    if data is None:
        return []
    items: list[tuple[Any, PathKey]]
    if isinstance(data, list):
        items = [(d, (i,)) for i, d in enumerate(data)]
    elif isinstance(data, dict) and isinstance(data.get("rules"), list):
        items = [(d, ("rules", i)) for i, d in enumerate(data["rules"])]
    else:
        items = [(data, ())]
    for item, path in items:
        if not isinstance(item, dict):
            problems.at(
                doc,
                path,
                "a rule must be a mapping with id, title, severity, match",
                "see rules/README.md for an example",
            )
    return [(item, path) for item, path in items if isinstance(item, dict)]
