"""The real ``streamlit run app.py`` serves every response with the security headers.

Slow: each module starts a real server (uvicorn via ``st.App``) on a free loopback port.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.serving import RunningApp, running_app

pytestmark = pytest.mark.slow

ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}

LAUNCHER = f"""
import streamlit as st
from starlette.responses import HTMLResponse
from starlette.routing import Route

from outcomes.web.server import middleware_from_environment


async def probe(request):
    return HTMLResponse("<p>mounted</p>")


app = st.App(
    {str(REPO_ROOT / "app.py")!r},
    routes=[Route("/probe", probe)],
    middleware=middleware_from_environment(),
)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """An App like app.py's with one plain route mounted beside the staff UI."""
    directory = tmp_path_factory.mktemp("mounted")
    script = directory / "launch_app.py"
    script.write_text(LAUNCHER)
    with running_app(directory, script=script) as running:
        yield running


def get(
    running: RunningApp, path: str, *, host: str = "localhost", **headers: str
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=20)
    connection.request("GET", path, headers={"Host": host, **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def assert_hardened(response: http.client.HTTPResponse) -> None:
    for name, value in ALWAYS.items():
        assert response.getheader(name) == value, name
    policy = response.getheader("content-security-policy") or ""
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    assert "camera=()" in (response.getheader("permissions-policy") or "")


def static_asset(running: RunningApp) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=20)
    connection.request("GET", "/", headers={"Host": "localhost"})
    page = connection.getresponse().read().decode()
    connection.close()
    match = re.search(r'src="\./(static/js/[^"]+\.js)"', page)
    assert match, "the Streamlit page names its script bundle"
    return "/" + match.group(1)


def test_the_staff_page_health_check_and_static_assets_carry_the_headers(
    server: RunningApp,
) -> None:
    for path in ("/", "/_stcore/health", static_asset(server)):
        response = get(server, path)
        assert response.status == 200, path
        assert_hardened(response)


def test_a_route_mounted_on_the_app_carries_the_headers(mounted: RunningApp) -> None:
    response = get(mounted, "/probe")
    assert response.status == 200
    assert_hardened(response)
    assert get(mounted, "/_stcore/health").status == 200, "the staff UI is served beside it"


def test_the_graduate_survey_is_served_by_the_same_app_with_its_own_strict_policy(
    server: RunningApp,
) -> None:
    for path, status in (("/s/" + "x" * 43, 404), ("/survey", 403), ("/u/" + "y" * 43, 404)):
        response = get(server, path, **{"Accept-Encoding": "gzip"})
        assert response.status == status, path
        assert_hardened(response)
        policy = response.getheader("content-security-policy") or ""
        assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy, path
        assert "connect-src" not in policy, "a survey page opens no connection of its own"
        assert response.getheader("cache-control") == "no-store"
    assert get(server, "/_stcore/health").status == 200, "the staff UI is served beside it"


def test_metrics_are_not_served(server: RunningApp) -> None:
    response = get(server, "/_stcore/metrics")
    assert response.status == 404
    assert_hardened(response)


def test_a_foreign_host_header_is_refused_for_pages_and_the_websocket(server: RunningApp) -> None:
    assert get(server, "/", host="evil.example").status == 400
    handshake = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    assert get(server, "/_stcore/stream", host="evil.example", **handshake).status == 400
    assert (
        get(server, "/_stcore/stream", host=f"localhost:{server.port}", **handshake).status == 101
    )


def test_hsts_only_when_the_request_came_over_https(server: RunningApp) -> None:
    assert get(server, "/").getheader("strict-transport-security") is None
    # uvicorn takes the scheme from X-Forwarded-Proto only from a trusted proxy (loopback).
    proxied = get(server, "/", **{"X-Forwarded-Proto": "https"})
    assert (proxied.getheader("strict-transport-security") or "").startswith("max-age=31536000")


def test_the_server_log_holds_no_traceback(server: RunningApp) -> None:
    get(server, "/")
    assert "Traceback" not in Path(server.log).read_text()
