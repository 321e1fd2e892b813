"""Safe HTTP(S) fetching for ingest: public addresses only, bounded in time, size, type and redirects.

Every hop (the URL and each redirect) is resolved once, its addresses checked, and the request sent to the checked
address itself (Host header and TLS name kept), so a name that resolves to a public address when checked and a
private one when connected (DNS rebinding) cannot reach the server's own network.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from qa.core.errors import FetchError
from qa.core.settings import Settings
from qa.core.text import megabytes

# The content types ingest can read, by the format that reads them.
CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/rdf+xml": "feed",
    "application/xml": "feed",
    "text/xml": "feed",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "txt",
    "text/markdown": "md",
}
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked for
    final_url: str  # after redirects
    format: str  # a value of CONTENT_TYPES
    body: bytes


def is_url(text: str) -> bool:
    """Anything with a scheme (http, https, file, ftp ...) is a URL to vet, not a path."""
    scheme = urlsplit(str(text)).scheme
    return len(scheme) > 1 and "://" in str(text)


class Fetcher:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.fetch_timeout),
            follow_redirects=False,  # followed here, so every hop's address is checked
            trust_env=False,  # a proxy from the environment would resolve names itself, unchecked
            headers={"User-Agent": settings.fetch_user_agent},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str) -> Fetched:
        deadline = time.monotonic() + self.settings.fetch_timeout
        current = url
        for _ in range(self.settings.fetch_max_redirects + 1):
            if time.monotonic() > deadline:
                break
            request = self._pinned(current)
            try:
                response = self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch {current}: {type(exc).__name__} {exc}".rstrip()) from None
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchError(f"{current} answered HTTP {response.status_code}")
                return Fetched(url, current, self._format(response, current), self._body(response, current, deadline))
            finally:
                response.close()
        if time.monotonic() > deadline:
            raise self._too_slow(url)
        raise FetchError(f"{url} redirects more than {self.settings.fetch_max_redirects} times")

    def _pinned(self, url: str) -> httpx.Request:
        """A request for url sent to the address its host resolves to, once that address is checked."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"only http and https URLs are fetched, not {parts.scheme or 'a path'}: {url}")
        if not parts.hostname:
            raise FetchError(f"no host in {url}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:
            raise FetchError(f"cannot resolve {parts.hostname}: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        if not self.settings.fetch_allow_private:
            refused = [a for a in addresses if not _public(a)]
            if refused:
                raise FetchError(f"{parts.hostname} resolves to a non-public address ({refused[0]}); "
                                 "set QA_FETCH_ALLOW_PRIVATE=true to allow it")
        ip = addresses[0]
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        netloc = f"{host}:{parts.port}" if parts.port else host
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = parts.netloc.rsplit("@", 1)[-1]
        return self.client.build_request("GET", pinned, headers={"Host": host_header}, extensions={"sni_hostname": parts.hostname})

    def _too_slow(self, url: str) -> FetchError:
        return FetchError(f"{url} took longer than {self.settings.fetch_timeout:g} s")

    def _format(self, response: httpx.Response, url: str) -> str:
        ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype not in CONTENT_TYPES:
            raise FetchError(f"{url} is {ctype or 'of no stated type'}, not a page, feed, PDF, DOCX or text")
        return CONTENT_TYPES[ctype]

    def _body(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        limit = self.settings.max_file_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{url} is too large ({megabytes(int(declared))}; the limit is {megabytes(limit)})")
        body = bytearray()
        try:
            for piece in response.iter_bytes():
                body += piece
                if len(body) > limit:
                    raise FetchError(f"{url} is too large (over {megabytes(limit)})")
                if time.monotonic() > deadline:
                    raise self._too_slow(url)
        except httpx.HTTPError as exc:
            raise FetchError(f"reading {url} failed: {type(exc).__name__} {exc}".rstrip()) from None
        return bytes(body)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
