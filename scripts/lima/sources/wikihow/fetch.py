"""A polite, cached page fetcher for wikiHow (docs/data.md#crawling-politely).

- robots.txt is obeyed (`urllib.robotparser`); a disallowed URL is never requested.
- One request at a time, at least `delay` seconds apart (never less than robots.txt's
  Crawl-delay), with the User-Agent the user sets, and a timeout on every request.
- 429, 5xx, timeouts and broken connections (a body shorter than its Content-Length too) are
  retried with exponential backoff; a `Retry-After` header is honoured. After `tries` attempts the
  page is given up, recorded and counted; the crawl goes on.
- Every outcome lands in the cache folder: the page's bytes under `pages/`, and one line in
  `index.jsonl` (key, URL, file, status, content type, category, fetch time). A page in the cache
  is never fetched again (give-ups neither, unless `refetch_failed`). `offline` reads only the
  cache and stops with a one-line error on a miss.

Cache keys are the URL's path and query (`/Cook-an-Omelette`, `/Category:Health?pg=2`), so the
same cache serves the real site and a test server on 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
import urllib.robotparser
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

import requests

from lima.errors import StageError
from lima.io import append_jsonl, atomic_write, read_jsonl
from lima.retry import retry_after_seconds

log = logging.getLogger("lima.wikihow")

BASE_URL = "https://www.wikihow.com"
INDEX = "index.jsonl"
INDEX_FIELDS = ("key", "status")   # what every index entry needs; the rest is read with .get
ROBOTS_KEY = "/robots.txt"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_WAIT = 600.0  # seconds: a Retry-After beyond this is clipped (we do not sleep for hours)
MAX_REDIRECTS = 5


@dataclass
class Page:
    key: str
    url: str
    status: int | str  # HTTP status, or "gave_up" / "disallowed"
    body: bytes | None = None
    content_type: str | None = None
    from_cache: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body is not None


@dataclass
class Fetcher:
    """Fetch pages by cache key; see the module docstring for the rules."""

    cache: Path
    base_url: str = BASE_URL
    user_agent: str | None = None
    delay: float = 3.0
    timeout: float = 30.0
    tries: int = 4
    backoff: float = 5.0
    offline: bool = False
    refetch_failed: bool = False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    stats: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self.cache = Path(self.cache)
        self.base_url = self.base_url.rstrip("/")
        self.index = load_index(self.cache)
        self._session: requests.Session | None = None
        self._last_request: float | None = None
        self._robots: urllib.robotparser.RobotFileParser | None = None
        self.crawl_delay = self.delay

    # ---- public ------------------------------------------------------------------------------

    def url(self, key: str) -> str:
        return self.base_url + key

    def get(self, key: str, category: str | None = None) -> Page:
        """The page for a cache key: from the cache, else (online) from the site."""
        entry = self.index.get(key)
        if entry is not None and (entry["status"] == 200 or not self.refetch_failed):
            self.stats["cache_hits"] += 1
            return self._from_cache(entry)
        if key != ROBOTS_KEY and not self.robots().can_fetch(self.user_agent or "*", self.url(key)):
            self.stats["disallowed"] += 1
            log.info("robots.txt disallows %s: not requested", key)
            return Page(key, self.url(key), "disallowed")
        if self.offline:
            raise StageError(self.cache, f"{key} is not in the cache (--offline); "
                                         "run without --offline to fetch it")
        page = self._download(key)
        if key == ROBOTS_KEY and page.status == "gave_up":
            # Crawling without knowing the rules is not an option; nothing is cached, so a
            # later run asks again.
            raise StageError(self.url(key), f"unreachable ({page.error}); try again later")
        self._store(page, category)
        return page

    def robots(self) -> urllib.robotparser.RobotFileParser:
        """robots.txt, from the cache or fetched once; also sets the effective crawl delay."""
        if self._robots is None:
            page = self.get(ROBOTS_KEY)
            parser = urllib.robotparser.RobotFileParser(self.url(ROBOTS_KEY))
            if page.ok:
                parser.parse(page.body.decode("utf-8", "replace").splitlines())
            elif page.status in (401, 403):
                parser.disallow_all = True  # the robotparser convention for a forbidden robots.txt
            else:
                parser.allow_all = True  # no robots.txt (404): nothing is disallowed
            self._robots = parser
            asked = parser.crawl_delay(self.user_agent or "*")
            if asked is not None and float(asked) > self.delay:
                if not self.offline:
                    log.info("NOTE: robots.txt asks Crawl-delay %s s, which overrides --delay %s",
                             asked, self.delay)
                self.crawl_delay = float(asked)
        return self._robots

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # ---- cache -------------------------------------------------------------------------------

    def _from_cache(self, entry: dict) -> Page:
        body = None
        if entry.get("file"):
            path = self.cache / entry["file"]
            try:
                body = path.read_bytes()
            except OSError as e:
                raise StageError(path, f"listed in {INDEX} but unreadable ({e.strerror})") from None
        return Page(entry["key"], entry.get("url") or self.url(entry["key"]), entry["status"],
                    body, entry.get("content_type"), from_cache=True, error=entry.get("error"))

    def _store(self, page: Page, category: str | None) -> None:
        """Page bytes first, then the index line: a kill in between leaves an unlisted file only."""
        rel = None
        if page.ok:
            rel = cache_file(page.key)
            with atomic_write(self.cache / rel, "wb", encoding=None) as f:
                f.write(page.body)
        entry = {"key": page.key, "url": page.url, "file": rel, "status": page.status,
                 "content_type": page.content_type, "category": category,
                 "fetched_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "bytes": len(page.body) if page.body is not None else None, "error": page.error}
        self.cache.mkdir(parents=True, exist_ok=True)
        append_jsonl(self.cache / INDEX, entry)
        self.index[page.key] = entry

    # ---- network -----------------------------------------------------------------------------

    def _wait(self, at_least: float) -> None:
        if self._last_request is not None:
            remaining = self._last_request + at_least - self.clock()
            if remaining > 0:
                self.sleep(remaining)

    def _download(self, key: str) -> Page:
        if not self.user_agent:
            raise StageError("--user-agent", "set a descriptive User-Agent with a contact before "
                                             "crawling, e.g. 'lima-repro/1.0 (you@example.org)'")
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["User-Agent"] = self.user_agent
        url, wait, error = self.url(key), self.crawl_delay, None
        redirects = 0
        attempt = 0
        while attempt < self.tries:
            self._wait(wait)
            wait = self.crawl_delay
            self.stats["requests"] += 1
            log.debug("GET %s (try %d)", url, attempt + 1)
            try:
                r = self._session.get(url, timeout=self.timeout, allow_redirects=False)
                body = r.content
                expected = r.headers.get("Content-Length")
                if expected and expected.isdigit() and int(expected) != len(body) \
                        and not r.headers.get("Content-Encoding"):
                    raise requests.exceptions.ChunkedEncodingError(
                        f"body of {len(body)} bytes, Content-Length {expected}")
            except requests.RequestException as e:
                self._last_request = self.clock()
                error = f"{type(e).__name__}: {e}"[:300]
                self.stats["retries_error"] += 1
                attempt += 1
                wait = max(wait, self.backoff * 2 ** (attempt - 1))
                log.warning("%s: %s (try %d of %d)", key, error, attempt, self.tries)
                continue
            self._last_request = self.clock()
            if r.status_code in (301, 302, 303, 307, 308) and redirects < MAX_REDIRECTS:
                target = urljoin(url, r.headers.get("Location", ""))
                if urlsplit(target).netloc != urlsplit(self.base_url).netloc or \
                        not self.robots().can_fetch(self.user_agent, target):
                    return Page(key, url, "disallowed", error=f"redirect to {target}")
                redirects += 1
                url = target  # a redirect hop is a request like any other: same delay, no try used
                continue
            if r.status_code in RETRY_STATUSES:
                attempt += 1
                error = f"HTTP {r.status_code}"
                self.stats[f"retries_http_{r.status_code}"] += 1
                wait = max(wait, self.backoff * 2 ** (attempt - 1), retry_after(r.headers) or 0.0)
                wait = min(wait, MAX_WAIT)
                log.warning("%s: HTTP %d, next try in %.1f s (try %d of %d)", key, r.status_code,
                            wait, attempt, self.tries)
                continue
            self.stats["fetched"] += 1
            return Page(key, url, r.status_code, body if r.status_code == 200 else None,
                        r.headers.get("Content-Type"),
                        error=None if r.status_code == 200 else f"HTTP {r.status_code}")
        self.stats["gave_up"] += 1
        log.warning("gave up on %s after %d tries (%s)", key, self.tries, error)
        return Page(key, url, "gave_up", error=error)


def retry_after(headers) -> float | None:
    """Seconds to wait from a response's Retry-After header (lima.retry reads the value), or None."""
    return retry_after_seconds(headers.get("Retry-After"))


def cache_file(key: str) -> str:
    """Where a page's bytes live inside the cache: readable, and unique by a short hash."""
    if key == ROBOTS_KEY:
        return "robots.txt"
    name = re.sub(r"[^A-Za-z0-9._%-]+", "_", key.strip("/")).strip("_")[:120] or "index"
    if name != key.strip("/"):
        name += "." + hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"pages/{name}.html"


def load_index(cache: Path) -> dict[str, dict]:
    """key -> last index entry (a later line wins: a refetched page replaces its give-up)."""
    path = Path(cache) / INDEX
    if not path.exists():
        return {}
    index = {}
    try:
        for n, row in enumerate(read_jsonl(path, tolerate_torn_tail=True), 1):
            missing = [f for f in INDEX_FIELDS if not isinstance(row, dict) or f not in row]
            if missing:
                raise StageError(path, f"not a cache index: entry {n} has no {' and no '.join(map(repr, missing))}")
            index[row["key"]] = row
    except (ValueError, TypeError) as e:
        raise StageError(path, f"not a cache index ({e})") from None
    return index


def key_of(href: str, base_url: str) -> str | None:
    """A link -> cache key (path + query) when it points at the same site, else None."""
    parts = urlsplit(urljoin(base_url + "/", href))
    if parts.netloc and parts.netloc != urlsplit(base_url).netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
