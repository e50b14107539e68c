"""Polite and safe: a few requests per host at once, redirects up to a limit, and no
feed (or redirect) reaching a loopback, link-local or private address unless
``fetch.allow_private`` says so; the check is on the address really connected to."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_settings
from monitor.errors import PrivateAddress, TransportError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.network import refusal
from monitor.models import Validators
from tests.conftest import REPO, resolve_to_loopback, write_config
from tests.fakes.feed_server import DEFAULT_FEED, FeedServer


def slow_feeds(server: FeedServer, n: int, delay: float = 0.3) -> list[str]:
    for i in range(n):
        server.set_slow(f"/s{i}.xml", delay)
    return [server.url(f"/s{i}.xml") for i in range(n)]


def fetch_all(fetcher: Fetcher, urls: list[str]) -> dict[str, Any]:
    return dict(fetcher.fetch_all((url, url, Validators()) for url in urls))


def test_at_most_per_host_requests_reach_one_host_at_once(feeds: FeedServer) -> None:
    urls = slow_feeds(feeds, 8)
    with Fetcher(concurrency=50, per_host=2, allow_private=True) as fetcher:
        outcomes = fetch_all(fetcher, urls)
    assert all(o.status == "ok" for o in outcomes.values())
    assert feeds.max_in_flight == 2


def test_the_cap_is_per_host_so_other_hosts_go_on_meanwhile(feeds: FeedServer) -> None:
    # the same server reached as two hosts: 127.0.0.1 and localhost
    urls = slow_feeds(feeds, 8)
    urls += [u.replace("127.0.0.1", "localhost") for u in urls]
    with Fetcher(concurrency=50, per_host=3, allow_private=True) as fetcher:
        outcomes = fetch_all(fetcher, urls)
    assert len(outcomes) == 16
    assert feeds.max_in_flight == 6


def test_a_redirect_takes_the_slot_of_the_host_it_goes_to(feeds: FeedServer) -> None:
    urls = slow_feeds(feeds, 6)
    for i in range(6):  # six feeds on "localhost", each redirected to 127.0.0.1
        feeds.set_redirect(f"/r{i}.xml", urls[i])
    redirects = [feeds.url(f"/r{i}.xml").replace("127.0.0.1", "localhost") for i in range(6)]
    with Fetcher(concurrency=50, per_host=2, allow_private=True) as fetcher:
        outcomes = fetch_all(fetcher, redirects)
    assert all(o.status == "ok" for o in outcomes.values())
    slow = [r for r in feeds.requests if r["path"].startswith("/s")]
    assert len(slow) == 6 and feeds.max_in_flight <= 4  # ≤ 2 on each name


def test_redirects_are_followed_up_to_the_limit(feeds: FeedServer) -> None:
    for hop in range(4):
        feeds.set_redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml", status=302)
    feeds.set_feed("/hop4.xml", DEFAULT_FEED)
    with Fetcher(max_redirects=4, allow_private=True) as fetcher:
        result = fetcher.fetch(feeds.url("/hop0.xml"))
        assert result.status == "ok" and result.url == feeds.url("/hop4.xml")
    with (
        Fetcher(max_redirects=3, allow_private=True) as fetcher,
        pytest.raises(TransportError, match="more than 3 redirects"),
    ):
        fetcher.fetch(feeds.url("/hop0.xml"))


def test_a_redirect_to_a_local_file_is_refused(feeds: FeedServer, tmp_path: Path) -> None:
    (tmp_path / "secret.xml").write_bytes(DEFAULT_FEED)
    feeds.set_redirect("/r.xml", f"file://{tmp_path / 'secret.xml'}")
    with Fetcher(allow_private=True) as fetcher, pytest.raises(TransportError):
        fetcher.fetch(feeds.url("/r.xml"))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_feeds_are_refused_with_a_hint_naming_the_setting(
    feeds: FeedServer, host: str
) -> None:
    feeds.set_feed("/f.xml", DEFAULT_FEED)
    with Fetcher() as fetcher, pytest.raises(PrivateAddress) as info:
        fetcher.fetch(feeds.url("/f.xml").replace("127.0.0.1", host))
    assert "loopback" in str(info.value)
    assert "fetch.allow_private" in info.value.hint
    if host == "localhost":  # a name: refused once connected, before a byte was sent
        assert "resolved to" in str(info.value)
    assert feeds.requests == []


def test_the_address_connected_to_is_checked_not_the_name(
    feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public-looking name whose DNS answer is 127.0.0.1 (as after DNS rebinding)."""
    resolve_to_loopback(monkeypatch, "feeds.example.com")
    feeds.set_feed("/f.xml", DEFAULT_FEED)
    url = feeds.url("/f.xml").replace("127.0.0.1", "feeds.example.com")
    with Fetcher() as fetcher, pytest.raises(PrivateAddress, match=r"resolved to 127\.0\.0\.1"):
        fetcher.fetch(url)
    assert feeds.requests == []
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(url).status == "ok"


def test_a_redirect_to_a_private_address_is_refused(feeds: FeedServer) -> None:
    """Only 127.0.0.1 is allowed here; the redirect goes to 127.0.0.2."""
    with FeedServer(host="127.0.0.2") as inner:
        inner.set_feed("/admin.xml", DEFAULT_FEED)
        feeds.set_redirect("/r.xml", inner.url("/admin.xml"))
        allow = [ipaddress.ip_network("127.0.0.1/32")]
        with Fetcher(allow_private=allow) as fetcher, pytest.raises(PrivateAddress) as info:
            fetcher.fetch(feeds.url("/r.xml"))
        assert "127.0.0.2" in str(info.value) and inner.requests == []
        with Fetcher(allow_private=True) as fetcher:
            assert fetcher.fetch(feeds.url("/r.xml")).status == "ok"


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
        ("feeds.example.com", None),  # a name: checked once connected
    ],
)
def test_which_addresses_are_refused(address: str, refused: str | None) -> None:
    why = refusal(address)
    assert (why is None) if refused is None else (why is not None and refused in why)
    assert refusal(address, True) is None


def test_allowing_some_networks_only() -> None:
    allow = [ipaddress.ip_network("10.1.0.0/16")]
    assert refusal("10.1.2.3", allow) is None
    assert refusal("10.2.0.1", allow) is not None
    assert refusal("127.0.0.1", allow) is not None


def test_the_bundled_config_and_the_test_helper_allow_what_they_use(tmp_path: Path) -> None:
    bundled = load_settings(REPO / "config" / "monitor.yaml")
    assert bundled.fetch.allow_private is False  # its sample feeds are local files
    assert all("127.0.0.1" not in f.url for f in bundled.feeds)
    helper = load_settings(write_config(tmp_path, [("A", "http://127.0.0.1:1/a.xml")]))
    assert helper.fetch.allow_private is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ('["10.1.2.0/24"]', [ipaddress.ip_network("10.1.2.0/24")])],
)
def test_allow_private_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: object
) -> None:
    monkeypatch.setenv("MONITOR_FETCH__ALLOW_PRIVATE", value)
    assert load_settings(write_config(tmp_path, [])).fetch.allow_private == expected
