"""Security headers on every HTTP response, as a pure ASGI middleware.

``security_headers(https=...)`` is the pure part: the header list, with the
Content-Security-Policy built by ``csp_directives()``. The directives are the strictest the
Streamlit 1.67 frontend runs under with no violation, found by ``tests/browser`` (sign-in, an
Overview, the Impact dashboard with its Altair charts); ``docs/security.md`` ("Hardening")
says what each source is for. ``SecurityHeaders`` sets them on every response it wraps,
replacing any the inner app set, and answers hidden paths (Streamlit's unauthenticated
``/_stcore/metrics``) with 404 before they reach a route.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@lru_cache(maxsize=1)
def streamlit_inline_script_hashes() -> tuple[str, ...]:
    """CSP hash sources of the inline scripts in the installed Streamlit's ``index.html``.

    Streamlit 1.67's page has one (``window.prerenderReady = false``); reading it from the
    installed package keeps the policy right when Streamlit is upgraded, and the browser
    test fails if a new version needs anything else.
    """
    index = resources.files("streamlit") / "static" / "index.html"
    try:
        html = index.read_text(encoding="utf-8")
    except OSError:  # development mode serves the frontend from elsewhere
        return ()
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def csp_directives() -> dict[str, tuple[str, ...]]:
    """The strictest policy the Streamlit frontend runs under with no violation (found by
    ``tests/browser``; each source is justified in docs/security.md, "Hardening")."""
    return {
        "default-src": ("'none'",),
        "script-src": ("'self'", *streamlit_inline_script_hashes(), "'wasm-unsafe-eval'"),
        "style-src": ("'self'", "'unsafe-inline'"),
        "img-src": ("'self'", "data:"),
        "font-src": ("'self'", "data:"),
        "connect-src": ("'self'",),
        "worker-src": ("'none'",),
        "manifest-src": ("'none'",),
        "frame-src": ("'none'",),
        "object-src": ("'none'",),
        "base-uri": ("'none'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'none'",),
    }


# Browser features the app never uses; an empty allow-list turns each off for every origin.
DENIED_FEATURES: tuple[str, ...] = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)

# One year, the minimum OWASP ASVS asks for; subdomains included, no preload (that is an
# institution-wide decision, not this app's).
HSTS_VALUE = "max-age=31536000; includeSubDomains"

# Streamlit answers these without authentication; nobody outside needs them.
HIDDEN_PATHS: tuple[str, ...] = ("/_stcore/metrics",)


def content_security_policy(directives: dict[str, tuple[str, ...]] | None = None) -> str:
    """The Content-Security-Policy header value for ``directives`` (default: the app's)."""
    chosen = csp_directives() if directives is None else directives
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in chosen.items())


def permissions_policy(features: Iterable[str] = DENIED_FEATURES) -> str:
    """The Permissions-Policy header value that turns every feature in ``features`` off."""
    return ", ".join(f"{feature}=()" for feature in features)


def security_headers(*, https: bool, policy: str | None = None) -> list[tuple[str, str]]:
    """The headers every response carries; HSTS only when the response goes out over HTTPS.

    ``policy`` replaces the Streamlit frontend's Content-Security-Policy (the graduate's
    survey pages have a stricter one of their own).
    """
    headers = [
        ("Content-Security-Policy", policy or content_security_policy()),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", permissions_policy()),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS_VALUE))
    return headers


def under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or below it (``/survey`` covers ``/survey/done``)."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def is_hidden(path: str, hidden: Iterable[str] = HIDDEN_PATHS) -> bool:
    """True when ``path`` (with or without a base URL path in front) must answer 404."""
    normalised = "/" + "/".join(part for part in path.split("/") if part)
    return any(normalised == p or normalised.endswith(p) for p in hidden)


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every HTTP response, 404 for hidden paths.

    ``https_always`` is set when the public base URL is ``https://``: the app then sits behind
    a TLS-terminating proxy, and browsers ignore HSTS on plain-HTTP responses anyway.
    Otherwise HSTS goes out when the request itself came over HTTPS (uvicorn sets the scheme
    from ``X-Forwarded-Proto`` only for proxies in ``FORWARDED_ALLOW_IPS``, by default
    127.0.0.1), or, with ``trust_forwarded_proto`` (the app is configured to sit behind a
    proxy), when ``X-Forwarded-Proto`` says ``https``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        https_always: bool = False,
        trust_forwarded_proto: bool = False,
        hidden_paths: Iterable[str] = HIDDEN_PATHS,
        policies: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.app = app
        self.https_always = https_always
        self.trust_forwarded_proto = trust_forwarded_proto
        self.hidden_paths = tuple(hidden_paths)
        self.policies = tuple(policies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.https_always or scope.get("scheme") == "https"
        if self.trust_forwarded_proto and not https:
            forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
            https = forwarded.split(",")[0].strip().lower() == "https"
        path = scope.get("path", "")
        policy = next((csp for prefix, csp in self.policies if under(path, prefix)), None)
        added = security_headers(https=https, policy=policy)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added:
                    headers[name] = value
            await send(message)

        if is_hidden(scope.get("path", ""), self.hidden_paths):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
