"""Digests: weekly round-ups, newsletters, podcasts, "In Other News". One item carries
many stories, so comparing it whole joins unrelated stories through it. A digest is
compared clause by clause (its best clause must match a report well on its own), and
it never opens a story that later reports can join. Pure."""

from __future__ import annotations

import re

_MARKERS = re.compile(
    r"""
    \b(?:week|weekly|daily|monthly)\s+(?:recap|round-?up|review|digest|brief(?:ing)?|wrap)\b
    | \bweek\s+in\s+(?:review|security|ransomware|crypto)\b
    | \bin\s+other\s+news\b | \bnewsletter\b | \bround-?up\b | \brecap\b | \bdigest\b
    | \bpodcast\b | \bepisode\b | \bep\.?\s?\d+\b | \bstormcast\b | \bthreatsday\b
    | \bweekly\s+update\b | \bthis\s+week\s+in\b | \binfosec\s+in\s+brief\b
    | 周报 | 早报 | 日报 | 晚报 | 周刊 | 简报 | 速递 | 一周
    """,
    re.IGNORECASE | re.VERBOSE,
)
_TITLE_CLAUSES = re.compile(r"\s*(?:[;|｜；]|\s[-–—]\s|、)\s*")
_SENTENCES = re.compile(r"(?<=[.!?。！？;；])\s*")
MIN_CLAUSES = 3  # a headline of this many "a; b; c" parts is a digest even unmarked


def is_digest(title: str) -> bool:
    return bool(_MARKERS.search(title)) or len(_TITLE_CLAUSES.split(title)) >= MIN_CLAUSES


def clauses(title: str, summary: str) -> list[str]:
    """The parts of a digest that may each be one story: headline parts and sentences."""
    parts = _TITLE_CLAUSES.split(title) + _SENTENCES.split(summary)
    return [p for p in (part.strip() for part in parts) if len(p) >= 12]
