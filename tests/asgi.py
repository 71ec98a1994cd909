"""A minimal in-process HTTP client for ASGI apps.

Starlette's ``TestClient`` needs ``httpx2``, which is not installed here; these tests need
only one request and its response, which ASGI gives directly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message


@dataclass(frozen=True)
class Reply:
    """The status, headers and body of one response."""

    status_code: int
    headers: Headers
    text: str


def request(
    app: ASGIApp,
    path: str,
    *,
    method: str = "GET",
    host: str = "localhost",
    scheme: str = "http",
    headers: dict[str, str] | None = None,
) -> Reply:
    """Send one request with no body to ``app`` and collect the response."""
    raw = [(b"host", host.encode())] + [
        (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": (host.split(":")[0], 443 if scheme == "https" else 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    # A fresh loop in a thread of its own: another test in this worker (Streamlit's AppTest)
    # may leave an event loop running in this thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], Headers(raw=start["headers"]), body.decode())
