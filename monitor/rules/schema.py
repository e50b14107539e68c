"""The rule language as pydantic models: what a rule file may contain.

A condition node is a plain string (a term), a term written as a mapping
(``{case: SEAT}``, ``{regex: …}``, ``{near: [a, b], within: 5}``), a list
reference (``{list: automakers}``), or a nested condition with ``all``, ``any``,
``none`` and ``at_least`` + ``of``. ``monitor rules schema`` exports these models
as JSON Schema for editors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

FIELDS = ("title", "summary", "content", "link", "feed", "author", "categories")
DEFAULT_FIELDS = ("title", "summary", "content")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListRef(_Model):
    list: str = Field(description="Name of a list under rules/lists/.")


class CaseTerm(_Model):
    case: str = Field(min_length=1, description="Case-sensitive word or phrase, e.g. SEAT or GM.")


class RegexTerm(_Model):
    regex: str = Field(min_length=1, description="Python regular expression, searched in the text.")
    case_sensitive: bool = False


class NearTerm(_Model):
    near: tuple[Term, Term] = Field(description="Two terms that must appear close together.")
    within: int = Field(5, ge=1, le=50, description="At most this many words apart.")


def _node_kind(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("list", "regex", "case", "near"):
            if key in value:
                return key
        return "condition"
    if isinstance(value, BaseModel):
        return {ListRef: "list", RegexTerm: "regex", CaseTerm: "case", NearTerm: "near"}.get(
            type(value), "condition"
        )
    return "word"


Term = Annotated[
    Annotated[str, Tag("word")]
    | Annotated[CaseTerm, Tag("case")]
    | Annotated[RegexTerm, Tag("regex")],
    Discriminator(_node_kind),
]
"""A single term (what ``near`` combines): a word, phrase, prefix, case or regex term."""

Node = Annotated[
    Annotated[str, Tag("word")]
    | Annotated[ListRef, Tag("list")]
    | Annotated[CaseTerm, Tag("case")]
    | Annotated[RegexTerm, Tag("regex")]
    | Annotated[NearTerm, Tag("near")]
    | Annotated["Condition", Tag("condition")],
    Discriminator(_node_kind),
]


ListTerm = Annotated[
    Annotated[str, Tag("word")]
    | Annotated[CaseTerm, Tag("case")]
    | Annotated[RegexTerm, Tag("regex")]
    | Annotated[NearTerm, Tag("near")],
    Discriminator(_node_kind),
]
"""What a named list may hold: any term, but no list references or conditions."""


class Condition(_Model):
    all: list[Node] | None = Field(None, description="Every item must match.")
    any: list[Node] | None = Field(None, description="At least one item must match.")
    none: list[Node] | None = Field(None, description="No item may match.")
    at_least: int | None = Field(None, ge=1, description="With `of`: at least this many match.")
    of: list[Node] | None = Field(None, description="The items counted by `at_least`.")
    fields: list[Literal[FIELDS]] | None = Field(  # type: ignore[valid-type]
        None, description="Look for this condition's terms only in these fields.", min_length=1
    )

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        if (self.at_least is None) != (self.of is None):
            raise ValueError("`at_least: N` and `of: [...]` go together")
        if self.at_least is not None and self.of is not None and self.at_least > len(self.of):
            raise ValueError(f"at_least: {self.at_least} but `of` lists only {len(self.of)} items")
        for name in ("all", "any", "none", "of"):
            if getattr(self, name) == []:
                raise ValueError(f"`{name}` is empty; list at least one term")
        if not (self.all or self.any or self.none or self.of):
            raise ValueError("empty condition; give `all`, `any`, `none` or `at_least`/`of`")
        return self


Example = Annotated[
    str | dict[Literal["title", "summary", "content", "link", "feed"], str],
    Field(description="An item: its title, or a mapping with title/summary/content."),
]


class Examples(_Model):
    match: list[Example] = Field(default_factory=list, description="Items this rule must match.")
    no_match: list[Example] = Field(default_factory=list, description="Items it must not match.")


class Rule(_Model):
    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        max_length=80,
        description="Unique id: lower case, digits, - _ .",
    )
    title: str = Field(min_length=1, max_length=150)
    severity: Literal["critical", "high", "medium", "low", "info"] = Field(
        description="critical, high and medium alert; low and info only go to digests."
    )
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    channel: str | None = Field(None, description="Slack channel for this rule's alerts.")
    enabled: bool = True
    digest: Literal["hourly", "daily"] | None = Field(
        None, description="Collect matches into one message per period instead of alerting."
    )
    fields: list[Literal[FIELDS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DEFAULT_FIELDS), description="Where to look.", min_length=1
    )
    match: Condition = Field(description="The condition: all / any / none / at_least + of.")
    tests: Examples = Field(default_factory=Examples)


class TermList(_Model):
    name: str | None = Field(None, description="Defaults to the file name without .yaml.")
    description: str = ""
    extends: list[str] = Field(default_factory=list, description="Lists whose terms this includes.")
    terms: list[ListTerm] = Field(default_factory=list)


class Exceptions(_Model):
    feeds: list[str] = Field(default_factory=list, description="Feeds whose items never alert.")
    terms: list[Node] = Field(
        default_factory=list, description="Items matching any of these never alert."
    )


for _model in (NearTerm, Condition, Rule, TermList, Exceptions):
    _model.model_rebuild()
