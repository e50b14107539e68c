"""Keyword rules: YAML files → validated models → one compiled matching engine."""

from .checks import example_entry
from .engine import Engine
from .loader import RuleSet, load_rules, rule_files, signature

__all__ = ["Engine", "RuleSet", "example_entry", "load_rules", "rule_files", "signature"]
