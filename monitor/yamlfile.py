"""YAML loading that remembers where every key and value came from.

Config and rule errors must name ``file:line:col``; PyYAML's plain ``safe_load``
forgets positions, so we compose the node tree and build the Python values
ourselves, recording each node's start mark under its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]


@dataclass
class YamlDoc:
    file: str
    data: Any
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    duplicate_keys: list[tuple[PathKey, int, int]] = field(default_factory=list)

    def locate(self, path: PathKey) -> tuple[int, int]:
        """Line and column (1-based) of the deepest known node along ``path``."""
        for cut in range(len(path), -1, -1):
            hit = self.marks.get(tuple(path[:cut]))
            if hit:
                return hit
        return (1, 1)


class YamlSyntaxError(Exception):
    def __init__(self, file: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{col}: {message}")
        self.file, self.line, self.col, self.message = file, line, col, message


# libyaml's loader when PyYAML was built with it: the same nodes and marks, about
# ten times faster (a 10,000-feed configuration took 2 s to read with the pure one)
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_text(text: str, file: str) -> YamlDoc:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        doc = YamlDoc(file=file, data=None)
        if node is not None:
            doc.data = _build(loader, node, (), doc)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(file, line, col, f"YAML syntax: {exc.problem or exc}") from exc
    finally:
        loader.dispose()


def load_yaml_file(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(str(path), 1, 1, "file is not UTF-8 text") from exc
    return load_yaml_text(text, str(path))


def _build(loader: Any, node: yaml.Node, path: PathKey, doc: YamlDoc) -> Any:
    doc.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key = key if isinstance(key, str | int) else str(key)
            sub = (*path, key)
            pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                doc.duplicate_keys.append((sub, *pos))
            doc.marks[sub] = pos
            out[key] = _build(loader, value_node, sub, doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
