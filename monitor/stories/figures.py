"""Figures in one canonical form, so outlets that write one number differently share it:
$2.25 million = US$2.25m = 225万美元 → "2.25m"; 75,000 = 75k → "75k"; 2.6TB → "2.6tb".
Pure."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SCALES = {
    "k": 3, "thousand": 3, "mila": 3, "tausend": 3,
    "m": 6, "mn": 6, "mln": 6, "million": 6, "millions": 6, "milione": 6, "milioni": 6,
    "mio": 6, "millionen": 6,
    "b": 9, "bn": 9, "billion": 9, "billions": 9, "miliardo": 9, "miliardi": 9, "mld": 9,
    "mrd": 9, "milliarden": 9,
    "trillion": 12,
    "万": 4, "亿": 8,
}  # fmt: skip
SIZES = frozenset({"kb", "mb", "gb", "tb", "pb"})
PERCENT = frozenset({"%", "percent", "per cent", "pct", "percento", "prozent"})
UNIT_WORDS = frozenset(SCALES) | SIZES | {"percent", "pct", "percento", "prozent"}
_SUFFIXES = {3: "k", 6: "m", 9: "bn", 12: "tn"}


def figure(number: str, unit: str = "", *, money: bool = False) -> str | None:
    """The canonical form of one figure, or None when it says little (small counts,
    years: "7 years", "Day 1", "in 2023")."""
    unit = unit.strip().lower()
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    if unit in PERCENT:
        return f"{_three(value)}%"
    if unit in SIZES:
        return f"{_three(value)}{unit}"
    exponent = SCALES.get(unit, 0)
    value = value.scaleb(exponent)
    if not exponent and not money and (value < 100 or (1900 <= value <= 2100 and value % 1 == 0)):
        return None
    if value < 100:
        return None  # "$20 Plus": a price, not a fact of the story
    for step in (12, 9, 6, 3):
        if value >= Decimal(10) ** step:
            return f"{_three(value.scaleb(-step))}{_SUFFIXES[step]}"
    return _three(value)


def _three(value: Decimal) -> str:
    """Three significant digits, so 296,019 and "296k" agree; no trailing zeros."""
    if value == 0:
        return "0"
    shift = 2 - value.adjusted()
    rounded = value.scaleb(shift).quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(-shift)
    text = format(rounded.normalize(), "f")
    return text
