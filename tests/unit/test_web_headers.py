"""The App's middleware: security headers on every response, hidden metrics, host checking.

These wrap a tiny Starlette app (a stand-in for a route mounted on the App) with the exact
middleware ``app.py`` gives ``st.App``; ``tests/integration/test_web_server.py`` checks the
same on a real ``streamlit run``.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from outcomes.config import get_settings
from outcomes.errors import DatabaseError, SettingsError
from outcomes.web import (
    SecurityHeaders,
    allowed_hosts,
    content_security_policy,
    middleware,
    security_headers,
)
from outcomes.web.headers import csp_directives, is_hidden, streamlit_inline_script_hashes
from outcomes.web.unavailable import MISCONFIGURED, NEEDS_UPGRADE, UNAVAILABLE, visitor_sentence
from tests.asgi import Reply, request

EXPECTED_ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


async def _page(request: object) -> HTMLResponse:
    return HTMLResponse("<p>a graduate page</p>", headers={"X-Frame-Options": "SAMEORIGIN"})


async def _metrics(request: object) -> PlainTextResponse:
    return PlainTextResponse("session_count 3")


class Client:
    """Requests to a tiny Starlette app wrapped in the App's middleware."""

    def __init__(self, public_base_url: str = "http://localhost:8501", scheme: str = "http"):
        settings = get_settings({"OUTCOMES_PUBLIC_BASE_URL": public_base_url})
        self.app = Starlette(
            routes=[Route("/survey/start", _page), Route("/_stcore/metrics", _metrics)],
            middleware=middleware(settings),
        )
        self.scheme = scheme

    def get(self, path: str, host: str = "localhost", method: str = "GET") -> Reply:
        return request(self.app, path, method=method, host=host, scheme=self.scheme)


def client(public_base_url: str = "http://localhost:8501", scheme: str = "http") -> Client:
    return Client(public_base_url, scheme)


def test_a_mounted_route_carries_every_security_header() -> None:
    response = client().get("/survey/start")
    assert response.status_code == 200
    for name, value in EXPECTED_ALWAYS.items():
        assert response.headers[name] == value, name
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "camera=()" in response.headers["permissions-policy"]


def test_the_middleware_replaces_a_weaker_header_the_route_set() -> None:
    response = client().get("/survey/start")
    assert response.headers.getlist("x-frame-options") == ["DENY"]


def test_metrics_are_not_served_whatever_the_method_or_base_path() -> None:
    http = client()
    assert http.get("/_stcore/metrics").status_code == 404
    assert http.get("/_stcore/metrics", method="OPTIONS").status_code == 404
    assert "session_count" not in http.get("/_stcore/metrics").text
    assert is_hidden("/prefix/_stcore/metrics")
    assert is_hidden("//_stcore//metrics/")
    assert not is_hidden("/_stcore/health")


def test_a_refusal_still_carries_the_headers() -> None:
    response = client().get("/_stcore/metrics")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_foreign_host_header_is_refused() -> None:
    http = client("https://outcomes.example.edu")
    assert http.get("/survey/start", host="evil.example").status_code == 400
    assert http.get("/survey/start", host="outcomes.example.edu").status_code == 200
    assert http.get("/survey/start", host="localhost:8501").status_code == 200


def test_the_public_host_and_loopback_are_the_allowed_hosts() -> None:
    assert allowed_hosts("https://Outcomes.Example.edu/base") == [
        "outcomes.example.edu",
        "localhost",
        "127.0.0.1",
        "[::1]",
    ]
    assert allowed_hosts("http://localhost:8501") == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts("http://[2001:db8::1]:8501")[0] == "[2001:db8::1]"


def test_hsts_goes_out_only_over_https() -> None:
    plain = client().get("/survey/start")
    assert "strict-transport-security" not in plain.headers
    secure = client(scheme="https").get("/survey/start")
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


def test_hsts_goes_out_on_every_response_when_the_public_address_is_https() -> None:
    # Behind a TLS-terminating proxy the app sees plain HTTP; browsers ignore HSTS on HTTP.
    http = client("https://outcomes.example.edu")
    response = http.get("/survey/start", host="outcomes.example.edu")
    assert "strict-transport-security" in response.headers


def test_the_policy_allows_no_inline_script_other_than_streamlits_own_and_no_eval() -> None:
    policy = content_security_policy()
    script_src = csp_directives()["script-src"]
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "default-src 'none'" in policy
    assert "object-src 'none'" in policy
    assert "base-uri 'none'" in policy
    assert all(source.startswith("'sha256-") for source in streamlit_inline_script_hashes())


def test_the_inline_script_hash_matches_the_installed_streamlit_page() -> None:
    index = (resources.files("streamlit") / "static" / "index.html").read_text()
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", index)
    assert len(streamlit_inline_script_hashes()) == len(inline) >= 1


def test_the_header_list_is_the_same_with_https_plus_hsts() -> None:
    plain = dict(security_headers(https=False))
    secure = dict(security_headers(https=True))
    assert secure.pop("Strict-Transport-Security")
    assert plain == secure


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            DatabaseError(
                "The database at postgresql+psycopg://u@db-secret-host.invalid/x could not be "
                "reached (failed to resolve host 'db-secret-host.invalid')."
            ),
            UNAVAILABLE,
        ),
        (
            DatabaseError(
                "The database at postgresql+psycopg://u@db-secret-host.invalid/x has not been "
                "set up: run 'outcomes db upgrade' first."
            ),
            NEEDS_UPGRADE,
        ),
        (
            SettingsError(
                "OUTCOMES_DATABASE_URL is malformed (got 'mysql://u@db-secret-host.invalid')."
            ),
            MISCONFIGURED,
        ),
    ],
)
def test_a_visitor_is_told_the_app_is_unavailable_without_the_host(
    error: Exception, expected: str
) -> None:
    sentence = visitor_sentence(error)  # type: ignore[arg-type]
    assert sentence == expected
    assert "db-secret-host" not in sentence
    assert "@" not in sentence


def test_a_forwarded_https_counts_only_when_the_app_trusts_its_proxy() -> None:
    async def page(scope: object, receive: object, send: object) -> None:
        await PlainTextResponse("ok")(scope, receive, send)  # type: ignore[arg-type]

    forwarded = {"X-Forwarded-Proto": "https"}
    untrusting = SecurityHeaders(page)
    trusting = SecurityHeaders(page, trust_forwarded_proto=True)
    assert "strict-transport-security" not in request(untrusting, "/", headers=forwarded).headers
    assert "strict-transport-security" in request(trusting, "/", headers=forwarded).headers
    assert "strict-transport-security" not in request(trusting, "/").headers
