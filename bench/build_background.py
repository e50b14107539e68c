"""Build monitor/stories/data/background.json.gz: how common each token is in real news.

    python bench/build_background.py

From text the evaluation does not score: the real feed documents of the shared corpus
(feeds/real/*.xml, parsed from bytes with the monitor's own parser) and the TUNING half
of the labelled items (bench/eval/stories-tune.jsonl). Items of the held-out half are
left out, also where a feed document carries them (matched by link and by title).
Each feed file gives at most PER_FILE documents, spread evenly over it: three
leak-site files hold 40,000 one-line victim posts, which would otherwise outnumber
all the news and make every ordinary word look rare. Duplicate headlines count once.

Rebuild after any change to the tokenizer (text.py's TOKENS_VERSION) or the aliases.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.feeds.items import load_items  # noqa: E402
from monitor.feeds.parse import parse_feed  # noqa: E402
from monitor.models import Entry  # noqa: E402
from monitor.stories.aliases import load_aliases  # noqa: E402
from monitor.stories.background import FILE, Background  # noqa: E402
from monitor.stories.features import Featurizer  # noqa: E402
from monitor.stories.text import capital_uses  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
ITEMS = CORPUS / "items" / "news-items.jsonl"
EVAL = REPO / "bench" / "eval"
OUT = REPO / "monitor" / "stories" / "data" / FILE
PER_FILE = 300  # documents at most from one feed file
MIN_USES = 1  # mid-sentence uses needed before a word's capitalisation is kept
CAPS_TEXT = 3000  # characters of each summary read for capitalisation


def ids(half: str) -> set[str]:
    lines = (EVAL / f"stories-{half}.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["id"] for line in lines}


def documents() -> Iterator[Entry]:
    items = {item.id: item.entry for item in load_items(str(ITEMS))}
    held = [items[i] for i in ids("held")]
    held_links = {e.url_key for e in held if e.url_key}
    held_titles = {e.title.strip().lower() for e in held}
    seen: set[str] = set()

    def fresh(entry: Entry) -> bool:
        title = entry.title.strip().lower()
        if not title or title in seen or title in held_titles or entry.url_key in held_links:
            return False
        seen.add(title)
        return True

    now = datetime.now(UTC)
    for path in sorted((CORPUS / "feeds" / "real").glob("*.xml")):
        try:
            parsed = parse_feed(path.read_bytes(), feed_name=path.stem, base_url="", now=now)
        except Exception as exc:
            print(f"  skipped {path.name}: {exc}", file=sys.stderr)
            continue
        entries = [e for e in parsed.entries if fresh(e)]
        step = max(1, len(entries) // PER_FILE)
        yield from entries[::step][:PER_FILE]
    for item_id in sorted(ids("tune")):
        if fresh(items[item_id]):
            yield items[item_id]


def build() -> Background:
    docs = list(documents())
    uses: dict[str, Counter[bool]] = {}
    for entry in docs:
        for token, capital in capital_uses(entry.summary[:CAPS_TEXT]):
            uses.setdefault(token, Counter())[capital] += 1
    caps = {
        token: round(100 * c[True] / (c[True] + c[False]))
        for token, c in uses.items()
        if c[True] + c[False] >= MIN_USES
    }
    featurize = Featurizer(load_aliases(None), Background(caps=caps))
    df: Counter[str] = Counter()
    for entry in docs:
        df.update(featurize(entry).full)
    return Background(len(docs), dict(sorted(df.items())), dict(sorted(caps.items())))


def main() -> int:
    if not ITEMS.is_file():
        print(f"{ITEMS} not found: the shared corpus must sit beside the repository")
        return 1
    table = build()
    body = json.dumps(table.to_json(), ensure_ascii=False, separators=(",", ":"))
    OUT.write_bytes(gzip.compress(body.encode("utf-8"), mtime=0))
    print(
        f"{OUT.relative_to(REPO)}: {table.docs} documents, {len(table.df)} tokens, "
        f"{len(table.caps)} with capitalisation, {OUT.stat().st_size // 1024} kB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
