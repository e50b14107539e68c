"""Word-level helpers shared by the tokenizer and the alias tables: stop words (a data
file), a light stemmer, and the compact form names are compared in. Pure."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NOT_ALNUM = re.compile(r"[\W_]+")


@cache
def stop_words() -> frozenset[str]:
    """The words that never count (data/stopwords.txt); read once per process."""
    text = resources.files(__package__).joinpath("data", "stopwords.txt").read_text("utf-8")
    words: set[str] = set()
    for line in text.splitlines():
        words.update(line.split("#", 1)[0].split())
    return frozenset(words)


def stem(word: str) -> str:
    """Crude English stemming, enough that hacked/hacker/hackers/hacking meet.

    Stems need not be words, only equal for one word's forms; names pass through
    it too (the same way in every report), so a name is compared in one form."""
    if len(word) <= 4 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 5:
        word = word[:-3] + "y"
    elif word.endswith(("ches", "shes", "sses", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) > 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 5:
        word = word[:-2]
    if word.endswith(("cker", "cher")):
        word = word[:-2]  # attacker → attack, hacker → hack, researcher → research
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]  # expose/exposed/exposes → expos
    return word


def compact(text: str) -> str:
    """Lower case without spaces or punctuation: "Jaguar Land Rover" → "jaguarlandrover"."""
    return _NOT_ALNUM.sub("", text.casefold())
