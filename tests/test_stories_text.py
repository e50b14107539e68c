"""The story tokenizer, figures and aliases: tables of texts and the tokens they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.stories import Background, load_aliases, load_background
from monitor.stories.figures import figure
from monitor.stories.text import TOKENS_VERSION, Token, tokenize

ALIASES = load_aliases(None)
TABLE = load_background()


def tokens(text: str, *, headline: bool = True, background: Background = TABLE) -> list[Token]:
    return tokenize(text, ALIASES, background.capitalised, headline=headline)


def texts(text: str, **kw: object) -> set[str]:
    return {t.text for t in tokens(text, **kw)}  # type: ignore[arg-type]


def names(text: str, **kw: object) -> set[str]:
    return {t.text for t in tokens(text, **kw) if t.name}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("one", "other", "shared"),
    [
        ("JLR extends shutdown", "Jaguar Land Rover extends shutdown", "jaguarlandrover"),
        ("Jaguar Land Rover's Q3 sales crash", "JLR sales crash", "jaguarlandrover"),
        ("蔚来用户数据泄露", "NIO confirms data leak", "nio"),
        ("8Base 声称窃取大众汽车大量文件", "Volkswagen files stolen", "volkswagen"),
        ("丰田部分源代码被公开", "Toyota source code exposed", "toyota"),
        ("トヨタ、データ流出", "Toyota data leak", "toyota"),
        ("Fancy Bear exploits Office flaw", "APT28 exploits Office flaw", "apt28"),
        ("Nio in extortion attempt", "NIO receives blackmail email", "extortion"),
        ("Dati di BMW Italia esposti", "BMW exposes data of clients in Italy", "italy"),
        ("Toyota's cloud leak", "Toyota cloud leak", "toyota"),
        ("Hackers' forum seized", "hacker forum", "hack"),
    ],
)
def test_aliases_possessives_and_languages_meet(one: str, other: str, shared: str) -> None:
    assert shared in texts(one) & texts(other)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tesla Model 3 hacked at Pwn2Own", {"pwn2own", "tesla"}),
        ("8Base ransomware crew claims Volkswagen data", {"8base", "volkswagen"}),
        ("Max severity Ni8mare flaw lets hackers hijack n8n servers", {"ni8mare", "n8n"}),
        ("APT28 exploits CVE-2026-21509", {"apt28", "cve202621509"}),
        ("TGR-STA-1030 breaches 70 government entities", {"tgrsta1030"}),
        ("Sha1-Hulud worm returns", {"sha1", "hulud"}),
    ],
)
def test_names_with_digits_count(text: str, expected: set[str]) -> None:
    assert expected <= names(text)


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("75k customers affected", {"$75k"}),
        ("75,000 customers affected", {"$75k"}),
        ("75 thousand customers", {"$75k"}),
        ("demanding $2.25 million in bitcoin", {"$2.25m"}),
        ("Hackers demand US$2.25m", {"$2.25m"}),
        ("勒索225万美元", {"$2.25m"}),
        ("近30万客户信息泄露", {"$300k"}),
        ("296,019 customers", {"$296k"}),
        ("data of 296k customers", {"$296k"}),
        ("Clorox Sues Cognizant for $380 Million", {"$380m"}),
        ("Clorox Files $380M Suit", {"$380m"}),
        ("wholesale volumes down 43%", {"$43%"}),
        ("2.6TB of data and 200GB more", {"$2.6tb", "$200gb"}),
        ("$20 Plus users in 2025, day 7", set()),
    ],
)
def test_figures_have_one_form(text: str, figures: set[str]) -> None:
    assert {t for t in texts(text) if t.startswith("$")} == figures


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("1,035,000", ""), "1.04m"),
        (("1.035", "million"), "1.04m"),
        (("14,178", ""), "14.2k"),
        (("1570.5", "万"), "15.7m"),
        (("2023", ""), None),
        (("42", ""), None),
    ],
)
def test_figure_rounding(args: tuple[str, str], expected: str | None) -> None:
    assert figure(*args) == expected


@pytest.mark.parametrize(
    ("text", "victim"),
    [
        ("Ford confirms ransomware attack, says customer data was stolen", "ford"),
        ("Conpet hit by cyberattack, Qilin ransomware claims responsibility", "conpet"),
        ("Acme Brakes confirms ransomware attack", "acme"),
        ("Hackers Exploit SharePoint Zero-Day Since July 7", "sharepoint"),
    ],
)
def test_a_name_that_opens_a_headline_is_a_name(text: str, victim: str) -> None:
    assert victim in names(text)
    # also with no background at all: a fresh install decides like a warm one
    assert victim in names(text, background=Background())


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Researchers uncover vast cyberespionage operation", "research"),
        ("Critical Flaw Lets Hackers Hijack Servers", "critical"),
        ("Hackers Exploit SharePoint Zero-Day", "hack"),
    ],
)
def test_an_ordinary_word_that_opens_a_headline_is_not(text: str, word: str) -> None:
    assert word in texts(text) and word not in names(text)


def test_stop_words_come_from_the_data_file_and_places_are_not_deciders() -> None:
    assert texts("the and of with from says") == set()
    kinds = {t.text: t.kind for t in tokens("Chinese EV maker Nio in Japan")}
    assert kinds["china"] == kinds["japan"] == "place" and kinds["nio"] == "known"


def test_domains_and_leak_site_titles() -> None:
    assert "cieautomotive" in texts("www.cieautomotive.com\\$3.6B\\Spain\\2.6tb\\100%DISCLOSED")
    assert "cieautomotive" in texts("CIE Automotive")
    assert "xss" in names("the day after XSS.is forum was seized")


def test_short_forms_keep_their_case() -> None:
    assert "ford" not in names("families can afford heating; a ford across the river")
    assert "volkswagen" in texts("VW recalls cars") and "volkswagen" not in texts("vw")
    assert "agenttesla" in texts("Torrent drops Agent Tesla") - texts("Tesla sales")


def test_user_aliases_extend_the_shipped_table(tmp_path: Path) -> None:
    (tmp_path / "aliases").mkdir()
    (tmp_path / "aliases" / "ours.yaml").write_text(
        "names:\n  Acme Brakes: [ACB, Acme Bremsen, 阿克米]\nwords:\n  shutdown: [Stillstand]\n",
        encoding="utf-8",
    )
    mine = load_aliases(tmp_path)
    got = {t.text for t in tokenize("ACB und Acme Bremsen: Stillstand", mine, TABLE.capitalised)}
    assert got == {"acmebrakes", "shutdown"}
    assert "jaguarlandrover" in {t.text for t in tokenize("JLR", mine, TABLE.capitalised)}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("nicknames:\n  A: [B]\n", "unknown key 'nicknames'"),
        ("names:\n  A: B\n", "must be a list"),
        ("names: [A, B]\n", "must be a mapping"),
        ("names:\n  A: [B\n", "YAML syntax"),
    ],
)
def test_bad_alias_files_name_the_place(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "aliases").mkdir()
    (tmp_path / "aliases" / "bad.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_aliases(tmp_path)
    assert "bad.yaml:" in str(info.value) and info.value.hint


def test_the_shipped_background_matches_the_tokenizer() -> None:
    assert TABLE.version == TOKENS_VERSION and TABLE.docs > 1000
    assert TABLE.df["ransomwar"] > TABLE.df.get("conpet", 0)


def test_remembered_words_give_the_same_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The word memo is only a cache: the same words at the start of a sentence and in
    its middle, in headlines and in Title Case, give what the plain tokenizer gives, also
    when the memo fills up and starts over."""
    samples = [
        "Ford confirms ransomware attack. Ford says the attackers stole data.",
        # capitalised in the middle a third of the time: a name there, a word first
        "Blockchain firms were hit. A Blockchain firm paid the Council. Council says no.",
        "Researchers say Critical flaw hits Ford suppliers; researchers warn",
        "Toyota's $2.25 million ransom: JLR, Jaguar Land Rover and 8Base named",
        "Hackers Demand $2.25M In Bitcoin From NIO After Data Theft",
        "hackers demand bitcoin. Hackers leak cieautomotive.com files, Russia-linked",
        "蔚来收到勒索邮件，要求支付225万美元等值比特币 NIO",
    ]
    for memo_size in (65536, 3):
        monkeypatch.setattr("monitor.stories.text.WORDS", memo_size)
        words: dict = {}
        for _ in range(2):
            for text in samples:
                for headline in (True, False):
                    plain = tokenize(text, ALIASES, TABLE.capitalised, headline=headline)
                    kept = tokenize(
                        text, ALIASES, TABLE.capitalised, headline=headline, words=words
                    )
                    assert kept == plain, text
        assert 0 < len(words) <= max(memo_size, 1)
