"""The middleware stack of the App, built from the settings.

Streamlit 1.67 has ``server.allowedHosts``, but it checks only WebSocket handshakes (and the
agent API), never plain HTTP; Starlette's ``TrustedHostMiddleware`` checks every HTTP request
and WebSocket handshake, so a foreign ``Host`` header (DNS rebinding, host-header poisoning)
gets 400 before any route runs.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import BaseRoute

from outcomes.config import Settings, get_settings
from outcomes.errors import SettingsError
from outcomes.web.headers import SecurityHeaders
from outcomes.web.survey.render import survey_csp
from outcomes.web.survey.routes import SURVEY_PATH_PREFIXES, SurveyRoutes

# Always allowed: `make run` and a health check on the machine itself.
# (Starlette compares an IPv6 host with its brackets.)
LOCAL_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(public_base_url: str) -> list[str]:
    """The Host header values the app answers: the public base URL's host and loopback."""
    host = (urlsplit(public_base_url).hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return [*([host] if host and host not in LOCAL_HOSTS else []), *LOCAL_HOSTS]


def middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: security headers (so even a refusal carries them), then the host check."""
    return [
        Middleware(
            SecurityHeaders,
            https_always=urlsplit(settings.public_base_url).scheme == "https",
            # Behind the proxy that sets the client-address header, X-Forwarded-Proto is
            # that proxy's word too.
            trust_forwarded_proto=settings.trusted_proxy_header is not None,
            policies=[(prefix, survey_csp()) for prefix in SURVEY_PATH_PREFIXES],
        ),
        Middleware(
            TrustedHostMiddleware,
            allowed_hosts=allowed_hosts(settings.public_base_url),
            www_redirect=False,
        ),
    ]


def routes(settings: Settings) -> list[BaseRoute]:
    """The routes mounted beside the staff UI: the graduate's survey."""
    return SurveyRoutes(settings).routes()


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        print(f"outcomes: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def server_from_environment() -> tuple[list[BaseRoute], list[Middleware]]:
    """The routes and middleware of the App for the settings in the environment.

    A bad setting stops the server with its one sentence (see ``middleware_from_environment``).
    """
    settings = _settings_or_exit()
    return routes(settings), middleware(settings)


def middleware_from_environment() -> list[Middleware]:
    """``middleware`` for the settings in the environment; a bad setting stops the server.

    Called while uvicorn imports ``app.py``: a malformed setting must not start a server that
    checks hosts against a guess, and a traceback helps nobody, so the one sentence of the
    ``SettingsError`` goes to stderr and the process exits with its code.
    """
    return middleware(_settings_or_exit())
