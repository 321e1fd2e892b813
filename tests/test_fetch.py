"""Safe fetching against a server the test starts on 127.0.0.1: addresses, schemes, redirects, types, sizes."""

import socket

import pytest

from qa.ingest import fetch
from qa.core.errors import FetchError
from qa.ingest.fetch import Fetcher, is_url
from tests.conftest import make_settings
from tests.fakes import FakeSite

PAGE = "<html><body><p>A page.</p></body></html>"


@pytest.fixture
def site():
    with FakeSite() as s:
        yield s


def fetcher(tmp_path, **overrides) -> Fetcher:
    return Fetcher(make_settings(tmp_path, **overrides))


def test_private_and_loopback_targets_are_refused_without_the_setting(site, tmp_path):
    url = site.serve("/p", "text/html", PAGE)
    f = fetcher(tmp_path)
    for target in (url, url.replace("127.0.0.1", "localhost"), "http://[::1]/", "http://10.1.2.3/", "http://169.254.169.254/latest/"):
        with pytest.raises(FetchError, match="non-public address"):
            f.get(target)
    assert site.hits == {}  # refused before any connection
    assert fetcher(tmp_path, fetch_allow_private=True).get(url).body == PAGE.encode()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"])
def test_only_http_and_https_are_fetched(tmp_path, url):
    assert is_url(url)
    with pytest.raises(FetchError, match="only http and https"):
        fetcher(tmp_path, fetch_allow_private=True).get(url)


def test_every_redirect_hop_is_checked(site, tmp_path, monkeypatch):
    """The server counts as public here; its redirect to the cloud metadata address is refused before connecting."""
    real = fetch._public
    monkeypatch.setattr(fetch, "_public", lambda ip: str(ip) == "127.0.0.1" or real(ip))
    site.redirect("/go", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError, match=r"non-public address \(169.254.169.254\)"):
        fetcher(tmp_path).get(site.url("/go"))
    site.serve("/final", "text/html", PAGE)
    site.redirect("/hop", "/final", 301)
    got = fetcher(tmp_path).get(site.url("/hop"))
    assert (got.final_url, got.format) == (site.url("/final"), "html")


def test_redirects_are_bounded(site, tmp_path):
    site.redirect("/loop", "/loop")
    with pytest.raises(FetchError, match="redirects more than 3 times"):
        fetcher(tmp_path, fetch_allow_private=True, fetch_max_redirects=3).get(site.url("/loop"))
    assert site.hits["/loop"] == 4


def test_content_type_size_and_status_are_checked(site, tmp_path):
    f = fetcher(tmp_path, fetch_allow_private=True, max_file_bytes=1000)
    with pytest.raises(FetchError, match="image/png"):
        f.get(site.serve("/img", "image/png", b"\x89PNG"))
    with pytest.raises(FetchError, match="too large"):
        f.get(site.serve("/big", "text/html", "<p>" + "x" * 2000 + "</p>"))
    with pytest.raises(FetchError, match="HTTP 404"):
        f.get(site.url("/missing"))
    assert f.get(site.serve("/feed", "application/rss+xml; charset=utf-8", "<rss/>")).format == "feed"


def test_the_checked_address_is_the_one_connected_and_the_agent_is_named(site, tmp_path, monkeypatch):
    """A host name is resolved once, checked, and the request sent to that address with the name in its Host header
    (so a second, different answer from DNS cannot redirect the connection)."""
    port = site.server.server_address[1]
    real = socket.getaddrinfo
    calls = []

    def resolve(host, *args, **kwargs):
        calls.append(host)
        return real("127.0.0.1" if host == "news.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    site.serve("/story", "text/html", PAGE)
    settings = make_settings(tmp_path, fetch_allow_private=True)
    assert Fetcher(settings).get(f"http://news.test:{port}/story").body == PAGE.encode()
    assert calls.count("news.test") == 1 and set(calls) <= {"news.test", "127.0.0.1"}  # then only the checked address
    assert site.hosts == [f"news.test:{port}"]
    assert site.agents == [settings.fetch_user_agent] and "qa" in settings.fetch_user_agent
