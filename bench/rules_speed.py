"""Rule-matching speed against the number of rules.

The issue: matching must not degrade with the number of rules. This benchmark
generates rule sets of 10, 100 and 1,000 rules (a realistic term mix, written as
YAML into a temporary rules folder so the real loader compiles them), then runs
``engine.match(entry)`` over 10,000 items (title + summary, as the daemon sees
them) and reports items per second for each size.

Target: 1,000 rules at no less than a third of the throughput of 10 rules.

    .venv/bin/python bench/rules_speed.py [--items 10000] [--out bench/results/rules_speed.json]
                                         [--sizes 10,100,1000] [--runs 3] [--profile]
                                         [--keep-rules DIR]

Items come from ../shared/corpus/items/news-items.jsonl (real feed items, cycled
with varying keys); without it, generated text is used instead.

Rule sets are nested prefixes of one seeded generator (the 10 rules are the
first 10 of the 100, which are the first 100 of the 1,000), so the sizes differ
only in the number of rules. Vocabulary comes from the items' own text (names
that occur in a few items) plus generated names (which match nothing, like most
watch-list entries on a normal day), so each item matches a handful of rules.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import json
import os
import platform
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.models import Entry  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.rules.terms import HAS_CJK, TOKEN_RE  # noqa: E402

try:  # clean text the way the feed parser does; fall back to raw text
    from monitor.feeds.text import plain_text as _plain
except ImportError:  # pragma: no cover

    def _plain(value: str | None, limit: int = 0) -> str:
        return (value or "")[: limit or None]


CORPUS = REPO.parent / "shared" / "corpus" / "items" / "news-items.jsonl"
TARGET_RATIO = 1 / 3

# -- vocabulary ---------------------------------------------------------------------

# fmt: off
THREAT_WORDS = [
    "ransomware", "breach", "breached", "vulnerability", "vulnerabilities", "exploit", "exploited",
    "zero-day", "phishing", "malware", "backdoor", "botnet", "infostealer", "spyware", "hacked",
    "hackers", "cyberattack", "outage", "leak", "leaked", "stolen", "extortion", "DDoS", "wiper",
    "trojan", "flaw", "attack", "compromised", "intrusion", "espionage", "scam", "fraud", "theft",
    "exposed", "hijacked", "rootkit", "skimmer", "cryptojacking", "sanctions", "arrested",
    "indictment", "seized",
]
THREAT_PHRASES = [
    "data breach", "data leak", "supply chain attack", "remote code execution", "zero day",
    "security flaw", "critical vulnerability", "ransomware attack", "ransomware gang",
    "leak site", "stolen data", "customer data", "personal data", "credential stuffing",
    "account takeover", "denial of service", "privilege escalation", "proof of concept",
    "security update", "emergency patch", "threat actor", "initial access broker",
    "command and control", "business email compromise", "SQL injection",
    "cross-site scripting", "authentication bypass", "actively exploited",
    "sensitive information", "law enforcement", "nation state", "state sponsored",
    "security incident", "unauthorized access", "patient data", "bank details",
]
THREAT_PREFIXES = [
    "ransom*", "exploit*", "phish*", "breach*", "hack*", "leak*", "vulnerab*", "compromis*",
    "extort*", "infostealer*", "backdoor*", "botnet*", "cyberattack*", "steal*", "malware*",
    "spyware*", "data leak*", "threat actor*", "impersonat*", "fraudul*",
]
THREAT_ACRONYMS = ["DDoS", "RCE", "APT", "CISA", "FBI", "NCSC", "BEC", "RAT", "CERT", "SIM"]
CJK_THREAT = [
    "勒索软件", "数据泄露", "黑客", "漏洞", "网络攻击", "勒索", "钓鱼", "木马",
    "情報漏えい", "ランサムウェア", "不正アクセス", "サイバー攻撃",
    "해킹", "랜섬웨어", "개인정보 유출",
]
CJK_NAMES = [
    "华为", "腾讯", "阿里巴巴", "小米", "比亚迪", "蔚来", "字节跳动", "百度", "京东", "美团",
    "中国移动", "三星", "ソニー", "トヨタ", "任天堂", "현대자동차", "카카오", "네이버", "微软",
]
EXCLUSIONS = [
    "webinar", "podcast", "sponsored", "giveaway", "quiz", "deal*", "review", "horoscope",
    "recipe", "obituary",
]
COMMON_REGEXES = [
    r"CVE-\d{4}-\d{4,}",
    r"\bCVE-202[4-6]-\d{4,7}\b",
    r"\$\d+(?:\.\d+)?\s?(?:million|billion|[mb]n)\b",
    r"\b\d{1,3}(?:,\d{3})+\s+(?:customers|users|records|patients|accounts)\b",
    r"\bAPT\s?\d{1,3}\b",
    r"\bUNC\d{3,4}\b",
    r"\bT1\d{3}(?:\.\d{3})?\b",
    r"\bKB\d{6,7}\b",
    r"\bGHSA(?:-[a-z0-9]{4}){3}\b",
    r"(?<!agent )\btesla\b",
]
NAME_PARTS = (
    [
        "vel", "nor", "quan", "ast", "bri", "kest", "orb", "tal", "zen", "mar", "cor", "lum",
        "pra", "ser", "vox", "hal", "dra", "ny", "fen", "gal", "rho", "syl", "tor", "ul",
    ],
    [
        "ex", "ara", "ion", "ix", "elle", "ora", "yx", "enta", "ium", "os", "ika", "ant", "ero",
    ],
)
NAME_SUFFIXES = [
    "Systems", "Health", "Bank", "Pay", "Cloud", "Logistics", "Energy", "Motors", "Insurance",
    "Telecom", "Labs", "Group", "Pharma", "Airlines", "Retail",
]
STOP = {
    "the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "for", "by", "with", "from", "as",
    "is", "are", "was", "were", "be", "been", "new", "how", "why", "what", "who", "when", "where",
    "this", "that", "these", "those", "it", "its", "our", "your", "their", "his", "her", "we",
    "you", "they", "he", "she", "not", "no", "yes", "all", "any", "more", "most", "after",
    "before", "over", "under", "into", "about", "than", "then", "there", "here", "update",
    "updates", "week", "today", "report", "reports", "says", "said", "inc", "ltd", "llc", "co",
    "corp", "com", "www", "http", "https", "read", "january", "february", "march", "april", "may",
    "june", "july", "august", "september", "october", "november", "december", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday",
}
FALLBACK_ENTITIES = [
    "Microsoft", "Cisco", "Fortinet", "Ivanti", "Citrix", "VMware", "Oracle", "SAP", "Google",
    "Apple", "Samsung", "Toyota", "Volkswagen", "Siemens", "Okta", "Cloudflare", "Atlassian",
    "SharePoint", "Exchange", "Chrome", "Android", "Windows", "Coinbase", "Binance", "NHS",
    "Qantas", "Marks and Spencer", "Co-op", "Harrods", "Jaguar Land Rover", "Black Basta",
    "LockBit", "Scattered Spider", "Lazarus", "Salt Typhoon", "Volt Typhoon", "Akira", "Qilin",
]
# fmt: on


# -- items --------------------------------------------------------------------------


def load_corpus() -> tuple[list[dict[str, str]], str]:
    if CORPUS.is_file():
        rows: list[dict[str, str]] = []
        for line in CORPUS.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                rows.append(
                    {
                        "id": d.get("id", str(len(rows))),
                        "feed": d.get("source", "feed"),
                        "title": d.get("title") or "",
                        "summary": d.get("summary") or "",
                        "link": d.get("link") or "",
                    }
                )
        if rows:
            return rows, str(CORPUS)
    return generated_corpus(1200), "generated"


def generated_corpus(n: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    filler = [
        "the",
        "company",
        "said",
        "in",
        "a",
        "statement",
        "that",
        "customers",
        "should",
        "update",
        "their",
        "systems",
        "while",
        "investigators",
        "look",
        "into",
        "the",
        "incident",
        "and",
        "regulators",
        "were",
        "informed",
        "shares",
        "fell",
        "analysts",
        "expect",
        "quarterly",
        "results",
        "to",
        "show",
        "growth",
    ]
    rows = []
    for i in range(n):
        ent = rng.choice(FALLBACK_ENTITIES)
        if rng.random() < 0.6:
            threat = rng.choice(THREAT_WORDS + THREAT_PHRASES)
            title = f"{ent} {rng.choice(['hit by', 'confirms', 'warns of', 'patches'])} {threat}"
        else:
            title = f"{ent} {rng.choice(['reports results', 'launches product', 'hires CEO'])}"
        words = rng.choices(filler, k=rng.randint(15, 45))
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words)), rng.choice(THREAT_WORDS))
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), f"CVE-2025-{rng.randint(1000, 99999)}")
        if rng.random() < 0.02:
            words.insert(0, rng.choice(CJK_THREAT) + rng.choice(CJK_NAMES))
        rows.append(
            {
                "id": f"g{i:04d}",
                "feed": "generated",
                "title": title,
                "summary": " ".join(words).capitalize() + ".",
                "link": f"https://x/{i}",
            }
        )
    return rows


def make_entries(rows: list[dict[str, str]], count: int) -> list[Entry]:
    out = []
    for n in range(count):
        row = rows[n % len(rows)]
        cycle = n // len(rows)
        title = _plain(row["title"], 500)
        summary = _plain(row["summary"], 1000)
        link = f"{row['link']}#{cycle}" if row["link"] else ""
        out.append(
            Entry(
                feed=row["feed"],
                key=f"{row['id']}-{cycle}",
                url_key=link,
                link=link,
                title=title,
                summary=summary if summary != title else "",
            )
        )
    return out


# -- vocabulary from the items -----------------------------------------------------


class Vocab:
    """Names found in the items (each in a few of them) plus generated names."""

    def __init__(self, rows: list[dict[str, str]], rng: random.Random) -> None:
        self.rng = rng
        df: Counter[str] = Counter()
        cap: Counter[str] = Counter()
        seen_lower: Counter[str] = Counter()
        bigram_df: Counter[str] = Counter()
        lower_vocab: set[str] = set()
        for row in rows:
            text = f"{row['title']} {row['summary']}"
            toks = [t for t in TOKEN_RE.findall(text) if not HAS_CJK.search(t)]
            lower_vocab.update(t.lower() for t in toks)
            for t in set(toks):
                df[t] += 1
            for t in toks:
                if t[0].isupper():
                    cap[t.lower()] += 1
                else:
                    seen_lower[t.lower()] += 1
            grams = set()
            ttoks = TOKEN_RE.findall(row["title"])
            for a, b in itertools.pairwise(ttoks):
                if (
                    a[:1].isupper()
                    and b[:1].isupper()
                    and a.lower() not in STOP
                    and b.lower() not in STOP
                    and len(a) > 1
                    and len(b) > 1
                ):
                    grams.add(f"{a} {b}")
            bigram_df.update(grams)
        words = []
        acronyms = []
        for tok, n in df.items():
            low = tok.lower()
            if low in STOP or len(tok) < 3 or tok.isdigit() or not tok[0].isupper():
                continue
            if seen_lower[low] > 0.1 * cap[low]:  # an ordinary word, capitalised at times
                continue
            if not 2 <= n <= 40:
                continue
            if tok.isupper() and 2 <= len(tok) <= 5 and tok.isalpha():
                acronyms.append(tok)
            elif not tok.isupper():
                words.append(tok)
        self.real_words = sorted(set(words))
        self.real_acronyms = sorted(set(acronyms)) or ["NHS", "SAP", "AWS"]
        self.real_bigrams = sorted(g for g, n in bigram_df.items() if 2 <= n <= 25)
        self.lower_vocab = lower_vocab
        self._made: set[str] = set()

    def generated_name(self) -> str:
        for _ in range(100):
            parts = [self.rng.choice(NAME_PARTS[0]), self.rng.choice(NAME_PARTS[1])]
            if self.rng.random() < 0.3:
                parts.insert(1, self.rng.choice(NAME_PARTS[0]))
            name = "".join(parts).capitalize()
            if name.lower() not in self.lower_vocab and name not in self._made:
                self._made.add(name)
                return name
        return name

    def entity(self, p_real: float) -> str:
        """A plain entity term: a real name or bigram from the items, or a generated one."""
        rng = self.rng
        if rng.random() < p_real:
            if rng.random() < 0.35 and self.real_bigrams:
                return rng.choice(self.real_bigrams)
            return rng.choice(self.real_words)
        name = self.generated_name()
        if rng.random() < 0.45:
            return f"{name} {rng.choice(NAME_SUFFIXES)}"
        return name


# -- rule generation -----------------------------------------------------------------


class Generator:
    """Seeded: the first N rules are the same whatever the total."""

    # Shares of directly written terms (list terms are drawn the same way).
    KIND_P = (("prefix", 0.10), ("case", 0.03), ("near", 0.02), ("regex", 0.015), ("cjk", 0.03))

    def __init__(self, vocab: Vocab, seed: int, p_real: float) -> None:
        self.v = vocab
        self.rng = random.Random(seed)
        vocab.rng = self.rng
        self.p_real = p_real
        self.lists: dict[str, dict[str, Any]] = {}
        self._threat_lists()
        self.entity_lists: list[str] = []

    def _kind(self) -> str:
        r = self.rng.random()
        acc = 0.0
        for kind, p in self.KIND_P:
            acc += p
            if r < acc:
                return kind
        return "plain"

    def threat_term(self, kind: str | None = None) -> Any:
        rng = self.rng
        kind = kind or self._kind()
        if kind == "prefix":
            return rng.choice(THREAT_PREFIXES)
        if kind == "case":
            return {"case": rng.choice(THREAT_ACRONYMS)}
        if kind == "near":
            a, b = rng.sample(
                [
                    "ransom*",
                    "data",
                    "stolen",
                    "hack*",
                    "attack*",
                    "exploit*",
                    "breach*",
                    "leak*",
                    "customer*",
                    "demand*",
                    "pay*",
                ],
                2,
            )
            return {"near": [a, b], "within": rng.choice([3, 5, 6, 8, 10])}
        if kind == "regex":
            return {"regex": rng.choice(COMMON_REGEXES[:6])}
        if kind == "cjk":
            return rng.choice(CJK_THREAT)
        return rng.choice(THREAT_WORDS) if rng.random() < 0.55 else rng.choice(THREAT_PHRASES)

    def entity_term(self, kind: str | None = None) -> Any:
        rng = self.rng
        kind = kind or self._kind()
        if kind == "prefix":
            base = self.v.entity(self.p_real).split()[0]
            if not (base.isalpha() and len(base) >= 4):
                base = self.v.generated_name()
            return (base[: max(5, len(base) - 2)] if rng.random() < 0.5 else base) + "*"
        if kind == "case":
            if rng.random() < self.p_real:
                return {"case": rng.choice(self.v.real_acronyms)}
            return {"case": self.v.generated_name().upper()[:4]}
        if kind == "near":
            return {
                "near": [self.v.entity(self.p_real), rng.choice(THREAT_PREFIXES[:16])],
                "within": rng.choice([4, 5, 6, 8, 10]),
            }
        if kind == "regex":
            if rng.random() < 0.5:
                return {"regex": rng.choice(COMMON_REGEXES)}
            name = self.v.entity(self.p_real)
            return {"regex": rf"\b{re.escape(name)}\s+v?\d+(?:\.\d+)+"}
        if kind == "cjk":
            return rng.choice(CJK_NAMES)
        return self.v.entity(self.p_real)

    def _threat_lists(self) -> None:
        """A few general incident lists, shared by many rules (like rules/lists/ today)."""
        rng = self.rng
        names = [
            "incident-extortion",
            "incident-data-theft",
            "incident-vuln",
            "incident-attack",
            "incident-fraud",
            "incident-cjk",
        ]
        for name in names:
            if name == "incident-cjk":
                terms = rng.sample(CJK_THREAT, 8)
            else:
                terms = [self.threat_term() for _ in range(rng.randint(10, 24))]
            self.lists[name] = {"description": f"generated: {name}", "terms": _dedupe(terms)}
        self.lists["incident-any"] = {
            "description": "generated: every incident list",
            "extends": ["incident-attack", "incident-data-theft", "incident-cjk"],
            "terms": ["security incident"],
        }
        self.threat_list_names = [*names[:-1], "incident-any"]

    def entity_list(self) -> str:
        """A watch list of names (a sector, a vendor's products); new or reused."""
        rng = self.rng
        if self.entity_lists and rng.random() < 0.7:
            return rng.choice(self.entity_lists)
        name = f"watch-{len(self.entity_lists):03d}"
        terms = [self.entity_term() for _ in range(rng.randint(4, 20))]
        body: dict[str, Any] = {
            "description": f"generated watch list {name}",
            "terms": _dedupe(terms),
        }
        if self.entity_lists and rng.random() < 0.15:
            body["extends"] = [rng.choice(self.entity_lists)]
        self.lists[name] = body
        self.entity_lists.append(name)
        return name

    def _entities(self) -> Any:
        rng = self.rng
        if rng.random() < 0.3:
            return {"list": self.entity_list()}
        terms = _dedupe([self.entity_term() for _ in range(rng.randint(1, 4))])
        return terms[0] if len(terms) == 1 else {"any": terms}

    def _threats(self) -> Any:
        rng = self.rng
        if rng.random() < 0.5:
            return {"list": rng.choice(self.threat_list_names)}
        return {"any": _dedupe([self.threat_term() for _ in range(rng.randint(2, 6))])}

    def rule(self, i: int) -> dict[str, Any]:
        rng = self.rng
        template = rng.choices(
            ["entity-threat", "watch-names", "product-vuln", "at-least", "near", "nested"],
            weights=[42, 15, 10, 10, 6, 17],
        )[0]
        match: dict[str, Any]
        if template == "entity-threat":
            match = {"all": [self._entities(), self._threats()]}
            if rng.random() < 0.2:
                match["none"] = rng.sample(EXCLUSIONS, rng.randint(1, 3))
        elif template == "watch-names":
            # gangs, malware families, own products: any of several names
            names = [self.entity_term() for _ in range(rng.randint(2, 6))]
            if rng.random() < 0.3:
                names.append({"list": self.entity_list()})
            match = {"any": _dedupe(names)}
        elif template == "product-vuln":
            vuln = [
                {"regex": COMMON_REGEXES[rng.randrange(2)]},
                "vulnerability",
                "zero-day",
                "exploit*",
                {"list": "incident-vuln"},
            ]
            match = {"all": [self._entities(), {"any": rng.sample(vuln, rng.randint(2, 4))}]}
        elif template == "at-least":
            match = {"at_least": 2, "of": [self._entities(), self._entities(), self._threats()]}
        elif template == "near":
            match = {"any": [self.entity_term("near") for _ in range(rng.randint(1, 2))]}
            if rng.random() < 0.5:
                match = {"all": [match, self._threats()]}
        else:  # three levels: all → any → all
            pair = {"all": _dedupe([self.threat_term(), self.threat_term()])}
            if len(pair["all"]) == 1:
                pair = pair["all"][0]
            match = {"all": [self._entities(), {"any": [pair, self._threats()]}]}
            if rng.random() < 0.4:
                match["none"] = rng.sample(EXCLUSIONS, rng.randint(1, 2))
        rule: dict[str, Any] = {
            "id": f"bench-{i:04d}-{template}",
            "title": f"Generated rule {i} ({template})",
            "severity": rng.choices(
                ["critical", "high", "medium", "low", "info"], weights=[5, 20, 40, 20, 15]
            )[0],
            "tags": ["bench", template],
            "match": match,
        }
        if rng.random() < 0.1:
            rule["fields"] = ["title"]
        return rule


def _dedupe(terms: list[Any]) -> list[Any]:
    out, seen = [], set()
    for t in terms:
        key = json.dumps(t, sort_keys=True, ensure_ascii=False).lower()
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _list_refs(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        if "list" in node:
            out.add(node["list"])
        for v in node.values():
            _list_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _list_refs(v, out)
    return out


def term_mix(rules: list[dict[str, Any]], lists: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Kinds of the terms as written: in the rules, plus each used list's terms once."""
    kinds: Counter[str] = Counter()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            if HAS_CJK.search(node):
                kinds["cjk"] += 1
            elif node.endswith("*"):
                kinds["prefix"] += 1
            else:
                kinds["phrase" if len(TOKEN_RE.findall(node)) > 1 else "word"] += 1
        elif isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            for key in ("case", "regex", "near"):
                if key in node:
                    kinds[key] += 1
                    return
            if "list" in node:
                kinds["list reference"] += 1
                return
            for key in ("all", "any", "none", "of"):
                if key in node:
                    walk(node[key])

    for rule in rules:
        walk(rule["match"])
    for name in _used_lists(rules, lists):
        walk(lists[name]["terms"])
    refs = kinds.pop("list reference", 0)
    total = sum(kinds.values()) or 1
    return {
        "terms": total,
        "list_references": refs,
        "share": {k: round(v / total, 3) for k, v in sorted(kinds.items())},
    }


def _used_lists(rules: list[dict[str, Any]], lists: dict[str, dict[str, Any]]) -> set[str]:
    need = _list_refs(rules, set())
    todo = list(need)
    while todo:
        for parent in lists[todo.pop()].get("extends", ()):
            if parent not in need:
                need.add(parent)
                todo.append(parent)
    return need


def write_rules(
    folder: Path, rules: list[dict[str, Any]], lists: dict[str, dict[str, Any]], per_file: int = 25
) -> int:
    """Rules in files of ``per_file``; only the lists they use (and what those extend)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lists").mkdir(exist_ok=True)
    dump: dict[str, Any] = {
        "allow_unicode": True,
        "sort_keys": False,
        "width": 100,
        "default_flow_style": None,
    }
    for start in range(0, len(rules), per_file):
        chunk = rules[start : start + per_file]
        (folder / f"bench-{start // per_file:03d}.yaml").write_text(
            yaml.safe_dump(chunk, **dump), encoding="utf-8"
        )
    need = _used_lists(rules, lists)
    for name in sorted(need):
        (folder / "lists" / f"{name}.yaml").write_text(
            yaml.safe_dump(lists[name], **dump), encoding="utf-8"
        )
    (folder / "exceptions.yaml").write_text(
        yaml.safe_dump({"feeds": [], "terms": ["sponsored content", "webinar"]}, **dump),
        encoding="utf-8",
    )
    return len(need)


# -- measuring -----------------------------------------------------------------------


def time_matching(engine: Any, entries: list[Entry], runs: int) -> list[float]:
    match = engine.match
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        for e in entries:
            match(e)
        times.append(time.perf_counter() - t0)
    return times


def time_scan(engine: Any, entries: list[Entry], runs: int) -> float | None:
    scan = getattr(engine, "scan", None)
    if scan is None:
        return None
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        for e in entries:
            scan(e)
        best = min(best, time.perf_counter() - t0)
    return best


def census(engine: Any, entries: list[Entry]) -> dict[str, Any]:
    """Untimed: matches per item, and (diagnostic, from engine internals when present)
    how many rules each item made candidates for evaluation."""
    matches = []
    for e in entries:
        matches.append(len(engine.match(e)))
    out: dict[str, Any] = {
        "avg_matches": sum(matches) / len(matches),
        "median_matches": sorted(matches)[len(matches) // 2],
        "max_matches": max(matches),
        "items_with_a_match": sum(1 for m in matches if m) / len(matches),
    }
    by_atom = getattr(engine, "_by_atom", None)
    if by_atom is not None and hasattr(engine, "scan"):
        try:
            cands = []
            for e in entries:
                hits = engine.scan(e)
                ids = {r.id for a in getattr(hits, "by_atom", {}) for r in by_atom.get(a, ())}
                cands.append(len(ids))
            out["avg_candidates"] = sum(cands) / len(cands)
        except Exception as exc:  # internals changed: the diagnostic is optional
            out["avg_candidates"] = f"n/a ({type(exc).__name__})"
    return out


def profile_matching(engine: Any, entries: list[Entry], top: int = 25) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for e in entries:
        engine.match(e)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def git_state() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": run("rev-parse", "--short", "HEAD"),
        "engine_modified": bool(run("status", "--porcelain", "monitor/rules")),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--sizes", default="10,100,1000", help="rule counts, comma separated")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per size; best is kept")
    ap.add_argument("--seed", type=int, default=20250724)
    ap.add_argument(
        "--p-real",
        type=float,
        default=0.2,
        help="share of entity names taken from the items (the rest are generated)",
    )
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "rules_speed.json"))
    ap.add_argument(
        "--profile",
        action="store_true",
        help="cProfile engine.match on the largest set and print the top functions",
    )
    ap.add_argument("--keep-rules", metavar="DIR", help="also write the largest rule set here")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    rows, source = load_corpus()
    entries = make_entries(rows, args.items)
    chars = sum(len(e.title) + len(e.summary) for e in entries) / len(entries)
    print(
        f"items: {len(entries)} from {source} ({len(rows)} distinct, "
        f"{chars:.0f} chars of title+summary on average)"
    )

    vocab = Vocab(rows, random.Random(args.seed))
    gen = Generator(vocab, args.seed, args.p_real)
    all_rules = [gen.rule(i) for i in range(max(sizes))]

    results: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="rules-speed-"))
    try:
        for size in sizes:
            folder = tmp / f"rules-{size}"
            n_lists = write_rules(folder, all_rules[:size], gen.lists)
            gc.collect()
            t0 = time.perf_counter()
            ruleset = load_rules(folder)
            load_s = time.perf_counter() - t0
            engine = ruleset.engine
            atom_kinds = Counter(a.kind for a in getattr(engine, "atoms", ()))
            times = time_matching(engine, entries, args.runs)
            best = min(times)
            scan_s = time_scan(engine, entries, 1)
            info = census(engine, entries)
            row = {
                "rules": size,
                "lists": n_lists,
                "atoms": sum(atom_kinds.values()),
                "atom_kinds": dict(sorted(atom_kinds.items())),
                "warnings": len(ruleset.problems),
                "load_s": round(load_s, 3),
                "match_s": [round(t, 3) for t in times],
                "items_per_s": round(len(entries) / best, 1),
                "us_per_item": round(best / len(entries) * 1e6, 1),
                "scan_only_items_per_s": round(len(entries) / scan_s, 1) if scan_s else None,
                **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in info.items()},
            }
            results.append(row)
            print(
                f"  {size:>5} rules: load {load_s:6.2f}s  {row['items_per_s']:>9,.0f} items/s  "
                f"{row['avg_matches']:.2f} matches/item  "
                f"candidates {row.get('avg_candidates', 'n/a')}"
            )
            if args.keep_rules and size == max(sizes):
                shutil.copytree(folder, args.keep_rules, dirs_exist_ok=True)
            if args.profile and size == max(sizes):
                print(f"\ncProfile of engine.match, {size} rules, {len(entries)} items:")
                print(profile_matching(engine, entries))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = next((r for r in results if r["rules"] == min(sizes)), results[0])
    top = next((r for r in results if r["rules"] == max(sizes)), results[-1])
    ratio = top["items_per_s"] / base["items_per_s"]
    for r in results:
        r["relative_to_smallest"] = round(r["items_per_s"] / base["items_per_s"], 3)

    print()
    vs = f"vs {base['rules']}"
    head = (
        f"{'rules':>6} {'lists':>5} {'atoms':>6} {'load s':>7} {'items/s':>9} "
        f"{'scan-only/s':>11} {'matches/item':>12} {'candidates/item':>15} {vs:>6}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        cand = r.get("avg_candidates")
        cand_s = f"{cand:.1f}" if isinstance(cand, (int, float)) else "n/a"
        scan = r["scan_only_items_per_s"]
        print(
            f"{r['rules']:>6} {r['lists']:>5} {r['atoms']:>6} {r['load_s']:>7.2f} "
            f"{r['items_per_s']:>9,.0f} {(scan or 0):>11,.0f} {r['avg_matches']:>12.2f} "
            f"{cand_s:>15} {r['relative_to_smallest']:>6.2f}"
        )
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(
        f"\n{top['rules']} rules vs {base['rules']} rules: {ratio:.2f} of the throughput "
        f"(target >= {TARGET_RATIO:.2f}): {verdict}"
    )

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "git": git_state(),
        "items": {
            "count": len(entries),
            "distinct": len(rows),
            "source": source,
            "fields": ["title", "summary"],
            "avg_chars": round(chars),
        },
        "generator": {
            "seed": args.seed,
            "p_real": args.p_real,
            "term_mix": {str(n): term_mix(all_rules[:n], gen.lists) for n in sizes},
            "vocab": {
                "real_words": len(vocab.real_words),
                "real_bigrams": len(vocab.real_bigrams),
                "real_acronyms": len(vocab.real_acronyms),
            },
        },
        "runs": args.runs,
        "results": results,
        "ratio_largest_to_smallest": round(ratio, 3),
        "target_ratio": round(TARGET_RATIO, 3),
        "pass": ratio >= TARGET_RATIO,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
