"""JSON Schema for rule files, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from . import schema as S


def rule_file_schema() -> dict[str, Any]:
    """A rule file holds one rule, a list of rules, a term list, or the exceptions."""
    adapter: TypeAdapter[Any] = TypeAdapter(S.Rule | list[S.Rule] | S.TermList | S.Exceptions)
    out = adapter.json_schema(ref_template="#/$defs/{model}")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "monitor rule file"
    return out
