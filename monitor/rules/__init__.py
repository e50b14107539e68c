"""Keyword rules: YAML files → validated models → one compiled matching engine.

    files → lists → compile → tree ← engine (evaluate, explain) ← loader (checks)

``loader.load_rules`` is the way in; ``Engine.match`` and ``Engine.explain`` the way out.
"""

from .checks import example_entry
from .engine import Engine
from .explain import Branch, RuleTrace
from .files import rule_files, signature
from .loader import RuleSet, load_rules

__all__ = [
    "Branch",
    "Engine",
    "RuleSet",
    "RuleTrace",
    "example_entry",
    "load_rules",
    "rule_files",
    "signature",
]
