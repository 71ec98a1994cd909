"""How fast a personal link shows the survey on a slow phone network: shared by the browser
test (which holds the product to its promise) and ``bench/run.py`` (which reports it).

Chromium emulates DevTools' "Fast 3G" preset over CDP (``Network.emulateNetworkConditions``:
562.5 ms latency per request, 1.44 Mbit/s down, 675 kbit/s up). A fresh browser context (no
cookie, nothing cached) opens the link, redirect included. Measured in the page, not by the
test's clock: first contentful paint (``performance.getEntriesByType('paint')``, counted from
the start of the navigation, so the ``/s/…`` redirect is in it) and every byte received for
every request (CDP's ``encodedDataLength``: compressed bodies and headers; the redirect's
response counted too).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Chrome DevTools' "Fast 3G" preset (front_end/core/sdk/NetworkManager.ts).
FAST_3G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
    "uploadThroughput": 750 * 1024 / 8 * 0.9,
}
# The product's promise for a graduate on a phone: content within 2 s on Fast 3G, and a page
# (HTML, CSS and script, compressed) under 60 KB.
FCP_BUDGET_MS = 2000.0
BYTES_BUDGET = 60 * 1024
RUNS = 3
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "survey_page_load.json"

FIRST_CONTENTFUL_PAINT = """() => new Promise((resolve) => {
  const find = (entries) => entries.find((e) => e.name === "first-contentful-paint");
  const now = find(performance.getEntriesByType("paint"));
  if (now) return resolve(now.startTime);
  new PerformanceObserver((list) => {
    const entry = find(list.getEntries());
    if (entry) resolve(entry.startTime);
  }).observe({ type: "paint", buffered: true });
})"""
NAVIGATION = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return { redirects: nav.redirectCount, redirect_end: nav.redirectEnd,
           response_end: nav.responseEnd, load_end: nav.loadEventEnd };
}"""


def _path(url: str) -> str:
    """The path of ``url``, with a personal link's token left out (it goes into a file)."""
    path = urlsplit(url).path
    return "/s/{token}" if path.startswith("/s/") else path


@dataclass(frozen=True)
class PageLoad:
    """One cold load of a personal link under Fast 3G."""

    first_contentful_paint_ms: float
    transferred_bytes: int
    requests: tuple[str, ...]  # paths, the personal token shown as {token}
    content_encoding: str | None  # of the survey page itself
    redirects: int
    response_end_ms: float


def load_once(browser: Any, link: str) -> PageLoad:
    """Open ``link`` in a fresh context under Fast 3G and measure it."""
    context = browser.new_context(viewport={"width": 375, "height": 740})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        received: dict[str, int] = {}
        urls: list[str] = []
        encodings: dict[str, str | None] = {}

        def sent(event: dict[str, Any]) -> None:
            urls.append(event["request"]["url"])
            redirect = event.get("redirectResponse")
            if redirect is not None:  # the 303 from /s/…, which gets no loadingFinished
                key = f"{event['requestId']}:redirect:{len(urls)}"
                received[key] = int(redirect.get("encodedDataLength", 0))

        def responded(event: dict[str, Any]) -> None:
            if event.get("type") == "Document":
                headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
                encodings[event["response"]["url"]] = headers.get("content-encoding")

        def finished(event: dict[str, Any]) -> None:
            received[event["requestId"]] = int(event["encodedDataLength"])

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.responseReceived", responded)
        cdp.on("Network.loadingFinished", finished)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", FAST_3G)
        page.goto(link, wait_until="load")
        fcp = float(page.evaluate(FIRST_CONTENTFUL_PAINT))
        navigation = page.evaluate(NAVIGATION)
        final = page.url
        return PageLoad(
            first_contentful_paint_ms=fcp,
            transferred_bytes=sum(received.values()),
            requests=tuple(_path(url) for url in urls),
            content_encoding=encodings.get(final),
            redirects=int(navigation["redirects"]),
            response_end_ms=float(navigation["response_end"]),
        )
    finally:
        context.close()


@dataclass(frozen=True)
class PageLoadResult:
    """``RUNS`` cold loads: the median first contentful paint and the page's weight."""

    loads: tuple[PageLoad, ...]

    @property
    def first_contentful_paint_ms(self) -> float:
        """The median first contentful paint."""
        return statistics.median(load.first_contentful_paint_ms for load in self.loads)

    @property
    def transferred_bytes(self) -> int:
        """The most bytes any load received."""
        return max(load.transferred_bytes for load in self.loads)

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        """The measured numbers, and the conditions they were measured under."""
        return {
            "network": {"preset": "Fast 3G (Chrome DevTools)", **FAST_3G},
            "first_contentful_paint_ms": round(self.first_contentful_paint_ms, 1),
            "transferred_bytes": self.transferred_bytes,
            "budget": {"first_contentful_paint_ms": FCP_BUDGET_MS, "bytes": BYTES_BUDGET},
            "loads": [asdict(load) for load in self.loads],
            **extra,
        }


def measure(browser: Any, link: str, *, runs: int = RUNS) -> PageLoadResult:
    """``runs`` cold loads of ``link`` under Fast 3G."""
    return PageLoadResult(tuple(load_once(browser, link) for _ in range(runs)))


def write_results(result: PageLoadResult, *, browser_version: str, **measured: Any) -> Path:
    """Write the measured numbers (and any ``measured`` beside them) to ``RESULTS``."""
    extra: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "chromium": browser_version,
        **measured,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result.to_dict(**extra), indent=2) + "\n", encoding="utf-8")
    return RESULTS


def heaviest_page(browser: Any, link: str) -> tuple[int, str]:
    """Walk a whole survey from ``link``; the most bytes one page received, and its path."""
    from tests.browser.survey_pages import phone_page, walk_survey

    context, page, _ = phone_page(browser)
    try:
        documents: dict[str, str] = {}
        sizes: dict[str, int] = {}

        def responded(event: dict[str, Any]) -> None:
            if event.get("type") == "Document":
                documents[event["requestId"]] = event["response"]["url"]

        def finished(event: dict[str, Any]) -> None:
            sizes[event["requestId"]] = int(event["encodedDataLength"])

        cdp = context.new_cdp_session(page)
        cdp.on("Network.responseReceived", responded)
        cdp.on("Network.loadingFinished", finished)
        cdp.send("Network.enable")
        walk_survey(page, link, lambda page, name: None)
        size, url = max((sizes.get(key, 0), url) for key, url in documents.items())
        parts = urlsplit(url)
        return size, parts.path + (f"?{parts.query}" if parts.query else "")
    finally:
        context.close()


# --- the floor: the least any page can do over the same network ----------------------------

FLOOR_PAGE = b'<!doctype html><html lang="en"><title>Survey</title><p>Your survey</p></html>'


class _FloorHandler(BaseHTTPRequestHandler):
    """A redirect from the link to a one-line page, as the survey's link redirects."""

    def do_GET(self) -> None:
        if self.path.startswith("/s/"):
            self.send_response(303)
            self.send_header("Location", "/survey")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(FLOOR_PAGE)))
        self.end_headers()
        self.wfile.write(FLOOR_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def floor_server() -> Iterator[str]:
    """A bare HTTP server on loopback with a redirecting link; yields the link."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FloorHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/s/floor"
    finally:
        server.shutdown()
        server.server_close()
