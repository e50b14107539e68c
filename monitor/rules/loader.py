"""Rule files on disk → a checked, compiled RuleSet, or a list of problems.

Layout of the rules folder:
    rules/*.yaml            one rule, or a list of rules, per file
    rules/lists/*.yaml      named term lists (``{list: automakers}``); may ``extends``
    rules/exceptions.yaml   feeds and terms that never alert
Every problem is reported as ``file:line:col`` with a hint; nothing half-loads.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import RuleError, RuleProblem
from ..models import Severity
from ..yamlfile import YamlDoc, YamlSyntaxError, load_yaml_file
from . import schema as S
from .engine import CompiledRule, Engine, Node
from .terms import Atom, TermSyntaxError, case_atom, regex_atom, word_atom

M = TypeVar("M", bound=BaseModel)
_TAGS = {"word", "list", "case", "regex", "near", "condition"}


@dataclass
class RuleSet:
    engine: Engine
    rules: list[S.Rule]
    lists: dict[str, list[Any]]
    problems: list[RuleProblem] = field(default_factory=list)  # warnings only
    signature: str = ""
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)


def rule_files(folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found)


def signature(folder: Path) -> str:
    """Changes whenever a rule file is added, removed or edited (for live reload)."""
    h = hashlib.blake2b(digest_size=12)
    for p in rule_files(folder):
        st = p.stat()
        h.update(f"{p}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def load_rules(folder: Path | str, *, run_examples: bool = True) -> RuleSet:
    """Load, validate and compile; raises RuleError listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RuleError(
            [
                RuleProblem(
                    str(folder),
                    1,
                    1,
                    "rules folder not found",
                    "set `rules:` in the config to the folder of rule files",
                )
            ]
        )
    loader = _Loader(folder)
    ruleset = loader.load()
    if run_examples:
        from .checks import check_examples, lint

        loader.problems += check_examples(ruleset, loader.example_marks)
        loader.problems += lint(ruleset, loader.term_marks)
    errors = [p for p in loader.problems if p.level == "error"]
    if errors:
        raise RuleError(loader.problems)
    ruleset.problems = loader.problems
    return ruleset


class _Loader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[RuleProblem] = []
        self.atoms: list[Atom] = []
        self.atom_ids: dict[Atom, int] = {}
        self.lists: dict[str, S.TermList] = {}
        self.list_docs: dict[str, tuple[YamlDoc, tuple[Any, ...]]] = {}
        self.example_marks: dict[tuple[str, str, int], tuple[str, int, int]] = {}
        self.term_marks: list[tuple[str, str, Atom, str, int, int]] = []  # rule, ctx, atom, file…

    def problem(
        self,
        doc: YamlDoc | str,
        path: tuple[Any, ...],
        msg: str,
        hint: str = "",
        level: str = "error",
    ) -> None:
        if isinstance(doc, str):
            self.problems.append(RuleProblem(doc, 1, 1, msg, hint, level))
            return
        line, col = doc.locate(path)
        self.problems.append(RuleProblem(doc.file, line, col, msg, hint, level))

    def load(self) -> RuleSet:
        docs: list[YamlDoc] = []
        for file in rule_files(self.folder):
            try:
                doc = load_yaml_file(file)
            except YamlSyntaxError as exc:
                self.problems.append(
                    RuleProblem(
                        exc.file,
                        exc.line,
                        exc.col,
                        exc.message,
                        "check indentation and quoting around here",
                    )
                )
                continue
            for sub, line, col in doc.duplicate_keys:
                self.problems.append(
                    RuleProblem(doc.file, line, col, f"key {sub[-1]!r} is given twice", "keep one")
                )
            docs.append(doc)
        list_docs = [d for d in docs if Path(d.file).parent.name == "lists"]
        exc_docs = [d for d in docs if Path(d.file).name in ("exceptions.yaml", "exceptions.yml")]
        rule_docs = [d for d in docs if d not in list_docs and d not in exc_docs]
        for doc in list_docs:
            self._load_list(doc)
        self._check_list_extends()
        rules: list[S.Rule] = []
        where: dict[str, tuple[str, int]] = {}
        compiled: list[CompiledRule] = []
        for doc in rule_docs:
            for rule, path in self._rules_in(doc):
                if rule.id in where:
                    first = where[rule.id]
                    self.problem(
                        doc,
                        (*path, "id"),
                        f"duplicate rule id {rule.id!r}",
                        f"already used at {first[0]}:{first[1]}; ids must be unique",
                    )
                    continue
                where[rule.id] = (doc.file, doc.locate(path)[0])
                rules.append(rule)
                if rule.enabled:
                    built = self._compile_rule(rule, doc, path)
                    if built is not None:
                        compiled.append(built)
        exc_node, exc_feeds = self._load_exceptions(exc_docs)
        engine = Engine(self.atoms, compiled, exc_node, exc_feeds)
        lists = {name: self._safe_expand(name) for name in self.lists}
        return RuleSet(
            engine=engine,
            rules=rules,
            lists=lists,
            signature=signature(self.folder),
            locations=where,
        )

    # -- lists --------------------------------------------------------------------

    def _load_list(self, doc: YamlDoc) -> None:
        data = doc.data
        if isinstance(data, list):  # a bare list of terms is allowed
            data = {"terms": data}
        model = self._validate(S.TermList, data, doc, ())
        if model is None:
            return
        name = model.name or Path(doc.file).stem
        if name in self.lists:
            self.problem(
                doc,
                ("name",),
                f"list {name!r} is defined twice",
                f"first in {self.list_docs[name][0].file}",
            )
            return
        self.lists[name] = model
        self.list_docs[name] = (doc, ())

    def _check_list_extends(self) -> None:
        for name, model in self.lists.items():
            doc = self.list_docs[name][0]
            for i, parent in enumerate(model.extends):
                if parent not in self.lists:
                    self.problem(
                        doc,
                        ("extends", i),
                        f"list {name!r} extends unknown list {parent!r}",
                        _did_you_mean(parent, self.lists),
                    )
            try:
                self._expand_list(name, set())
            except RecursionError:
                self.problem(
                    doc,
                    ("extends",),
                    f"list {name!r} extends itself through a cycle",
                    "remove one `extends` entry from the cycle",
                )

    def _safe_expand(self, name: str) -> list[Any]:
        try:
            return self._expand_list(name, set())
        except RecursionError:  # reported by _check_list_extends
            return []

    def _expand_list(self, name: str, stack: set[str]) -> list[Any]:
        if name in stack:
            raise RecursionError(name)
        model = self.lists.get(name)
        if model is None:
            return []
        out: list[Any] = []
        for parent in model.extends:
            out += self._expand_list(parent, stack | {name})
        return out + list(model.terms)

    # -- rules --------------------------------------------------------------------

    def _rules_in(self, doc: YamlDoc) -> list[tuple[S.Rule, tuple[Any, ...]]]:
        data = doc.data
        if data is None:
            return []
        items: list[tuple[Any, tuple[Any, ...]]]
        if isinstance(data, list):
            items = [(d, (i,)) for i, d in enumerate(data)]
        elif isinstance(data, dict) and "rules" in data and isinstance(data["rules"], list):
            items = [(d, ("rules", i)) for i, d in enumerate(data["rules"])]
        else:
            items = [(data, ())]
        out = []
        for item, path in items:
            if not isinstance(item, dict):
                self.problem(
                    doc,
                    path,
                    "a rule must be a mapping with id, title, severity, match",
                    "see rules/README.md for an example",
                )
                continue
            rule = self._validate(S.Rule, item, doc, path)
            if rule is not None:
                out.append((rule, path))
                for kind in ("match", "no_match"):
                    for i in range(len(getattr(rule.tests, kind))):
                        line, col = doc.locate((*path, "tests", kind, i))
                        self.example_marks[(rule.id, kind, i)] = (doc.file, line, col)
        return out

    def _validate(self, model: type[M], data: Any, doc: YamlDoc, path: tuple[Any, ...]) -> M | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = _data_path(data, tuple(err["loc"]))
                self.problem(doc, path + loc, _message(err), _hint(err, model, loc, data))
            return None

    def _compile_rule(
        self, rule: S.Rule, doc: YamlDoc, path: tuple[Any, ...]
    ) -> CompiledRule | None:
        before = len(self.problems)
        node = self._node(rule.match, doc, (*path, "match"), rule.id, "match")
        if len(self.problems) > before or node is None:
            return None
        positive = frozenset(_positive(node))
        is_open = _can_match_empty(node)
        if is_open:
            self.problem(
                doc,
                (*path, "match"),
                f"rule {rule.id!r} matches items that contain none of its terms",
                "add an `all` or `any` next to `none`",
            )
            return None
        return CompiledRule(
            id=rule.id,
            title=rule.title,
            severity=Severity.parse(rule.severity),
            channel=rule.channel,
            digest=rule.digest,
            fields=tuple(rule.fields),
            condition=node,
            positive=positive,
            open=False,
            file=doc.file,
            tags=tuple(rule.tags),
            extra_fields=tuple(sorted(_narrowed_fields(node))),
        )

    def _atom(self, atom: Atom) -> int:
        if atom not in self.atom_ids:
            self.atom_ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return self.atom_ids[atom]

    def _node(
        self,
        value: Any,
        doc: YamlDoc,
        path: tuple[Any, ...],
        rule: str,
        ctx: str,
        stack: tuple[str, ...] = (),
    ) -> Node | None:
        try:
            if isinstance(value, str):
                atom = word_atom(value)
                self._mark(rule, ctx, atom, doc, path)
                return ("t", self._atom(atom))
            if isinstance(value, S.CaseTerm):
                atom = case_atom(value.case)
                self._mark(rule, ctx, atom, doc, path)
                return ("t", self._atom(atom))
            if isinstance(value, S.RegexTerm):
                return ("t", self._atom(regex_atom(value.regex, value.case_sensitive)))
        except TermSyntaxError as exc:
            self.problem(doc, path, str(exc), "fix or remove this term")
            return None
        if isinstance(value, S.NearTerm):
            # each near term is its own context: sharing a word with a sibling is fine
            sub = f"{ctx} near@{path}"
            a = self._node(value.near[0], doc, (*path, "near", 0), rule, sub)
            b = self._node(value.near[1], doc, (*path, "near", 1), rule, sub)
            if a is None or b is None:
                return None
            return ("near", a[1], b[1], value.within)
        if isinstance(value, S.ListRef):
            return self._list_node(value.list, doc, path, rule, stack)
        assert isinstance(value, S.Condition)
        parts: list[Node] = []
        for key in ("all", "any", "none"):
            children = getattr(value, key)
            if children:
                kids = [
                    self._node(c, doc, (*path, key, i), rule, key, stack)
                    for i, c in enumerate(children)
                ]
                if any(k is None for k in kids):
                    return None
                parts.append((key, key, kids))
        if value.of is not None and value.at_least is not None:
            kids = [
                self._node(c, doc, (*path, "of", i), rule, "of", stack)
                for i, c in enumerate(value.of)
            ]
            if any(k is None for k in kids):
                return None
            parts.append(("atl", f"at_least {value.at_least}", value.at_least, kids))
        node: Node = parts[0] if len(parts) == 1 else ("all", "all of", parts)
        if value.fields:
            node = ("in", tuple(value.fields), node)
        return node

    def _list_node(
        self, name: str, doc: YamlDoc, path: tuple[Any, ...], rule: str, stack: tuple[str, ...]
    ) -> Node | None:
        if name not in self.lists:
            self.problem(
                doc,
                (*path, "list"),
                f"undefined list {name!r}",
                _did_you_mean(name, self.lists)
                or f"create rules/lists/{name}.yaml with a `terms:` list",
            )
            return None
        ldoc = self.list_docs[name][0]
        kids: list[Node] = []
        try:
            terms = self._expand_list(name, set())
        except RecursionError:
            return None
        for i, term in enumerate(terms):
            child = self._node(term, ldoc, ("terms", i), rule, f"list {name}")
            if child is None:
                return None
            kids.append(child)
        if not kids:
            self.problem(doc, (*path, "list"), f"list {name!r} has no terms", "add terms to it")
            return None
        return ("any", f"list {name}", kids)

    def _mark(self, rule: str, ctx: str, atom: Atom, doc: YamlDoc, path: tuple[Any, ...]) -> None:
        line, col = doc.locate(path)
        self.term_marks.append((rule, ctx, atom, doc.file, line, col))

    def _load_exceptions(self, docs: list[YamlDoc]) -> tuple[Node | None, list[str]]:
        feeds: list[str] = []
        nodes: list[Node] = []
        for doc in docs:
            model = self._validate(S.Exceptions, doc.data or {}, doc, ())
            if model is None:
                continue
            feeds += model.feeds
            for i, term in enumerate(model.terms):
                node = self._node(term, doc, ("terms", i), "(exceptions)", "exceptions")
                if node is not None:
                    nodes.append(node)
        return (("any", "exceptions", nodes) if nodes else None), feeds


def _positive(node: Node) -> set[int]:
    kind = node[0]
    if kind == "t":
        return {node[1]}
    if kind == "near":
        return {node[1], node[2]}
    if kind == "none":
        return set()
    if kind == "in":
        return _positive(node[2])
    out: set[int] = set()
    for child in node[-1]:
        out |= _positive(child)
    return out


def _narrowed_fields(node: Node) -> set[str]:
    if node[0] in ("t", "near"):
        return set()
    if node[0] == "in":
        return set(node[1]) | _narrowed_fields(node[2])
    out: set[str] = set()
    for child in node[-1]:
        out |= _narrowed_fields(child)
    return out


def _can_match_empty(node: Node) -> bool:
    kind = node[0]
    if kind in ("t", "near"):
        return False
    if kind == "in":
        return _can_match_empty(node[2])
    children = node[-1]
    if kind == "none":
        return True
    if kind == "any":
        return any(_can_match_empty(c) for c in children)
    if kind == "all":
        return all(_can_match_empty(c) for c in children)
    return bool(sum(_can_match_empty(c) for c in children) >= node[2])


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
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


def _hint(err: Any, model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> str:
    if err["type"] != "extra_forbidden" or not loc:
        if err["type"] == "literal_error":
            return "allowed: " + str(err.get("ctx", {}).get("expected", ""))
        return ""
    key = str(loc[-1])
    known = (
        set(S.Rule.model_fields)
        | set(S.Condition.model_fields)
        | {
            "list",
            "case",
            "regex",
            "near",
            "within",
            "case_sensitive",
            "match",
            "no_match",
            "terms",
            "extends",
            "name",
            "feeds",
        }
    )
    return _did_you_mean(key, known) or "remove it, or check the rule reference in rules/README.md"


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
