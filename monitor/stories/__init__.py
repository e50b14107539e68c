"""Which reports are the same story. Pure: no database, no Slack, no clock.

text.py        tokens: words, names (with aliases), figures, CJK pairs
features.py    what is compared of one item; title-only items, digests
background.py  the shipped table of how common tokens are in real news
rarity.py      that table plus the items seen inside the window
score.py       how alike two reports are, and whether names allow a join
grouper.py     the index: observe, assign, warm, move, expire
offline.py     the same Grouper fed cycle by cycle, for tools and the evaluation
aliases.py     alias tables (data/aliases.yaml + <rules>/aliases/*.yaml)
"""

from .aliases import Aliases, load_aliases
from .background import Background, load_background
from .grouper import THRESHOLD, WINDOW, Grouper
from .models import Decision, Report
from .offline import group_offline

__all__ = [
    "THRESHOLD",
    "WINDOW",
    "Aliases",
    "Background",
    "Decision",
    "Grouper",
    "Report",
    "group_offline",
    "load_aliases",
    "load_background",
]
