"""The SMTP connection's security: login when a user is set, STARTTLS and implicit TLS with
the server's certificate verified (a throw-away CA made by the test, trusted via
``SSL_CERT_FILE``)."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine

from outcomes.config import Settings
from outcomes.fieldwork import sending
from tests.integration.test_mail import NOW, Clock, invite, make_settings, messages
from tests.mail_server import RecordingHandler, free_port


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"correct horse",
    )
    return AuthResult(success=ok)


@pytest.fixture
def auth_server() -> Iterator[tuple[int, RecordingHandler]]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield port, handler
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_the_sender_logs_in_when_a_user_is_set_and_waits_when_the_login_fails(
    engine: Engine, database_url: str, auth_server: tuple[int, RecordingHandler]
) -> None:
    port, handler = auth_server
    invite(engine, ["ana@x.org"])
    wrong = make_settings(
        database_url, port, smtp_username="mailer", smtp_password="nope", smtp_timeout_seconds=2
    )
    refused = sending.run_fieldwork(engine, wrong, clock=Clock())
    assert refused.sent.failed_temporary == 1 and handler.received == []
    assert (messages(engine)[0].last_error or "").startswith(f"the SMTP server 127.0.0.1:{port}")
    right = make_settings(database_url, port, smtp_username="mailer", smtp_password="correct horse")
    assert (
        sending.run_fieldwork(engine, right, clock=Clock(NOW + dt.timedelta(hours=1))).sent.sent
        == 1
    )
    assert handler.recipients() == ["ana@x.org"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "key.pem", "c.csr", "cert.pem")
    )

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=outcomes test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    extensions = folder / "ext.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(extensions),
    )
    return ca, cert, key


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls_verify_the_server_and_deliver(
    engine: Engine,
    database_url: str,
    certificates: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    ca, cert, key = certificates
    handler = RecordingHandler()
    port = free_port()
    context = _server_context(cert, key)
    if security == "starttls":
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
    else:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            server_hostname="127.0.0.1",
            ssl_context=context,
        )
    controller.start()
    try:
        invite(engine, ["ana@x.org", "luis@x.org"])
        settings: Settings = make_settings(database_url, port, smtp_security=security)
        untrusted = sending.run_fieldwork(engine, settings, clock=Clock())
        assert untrusted.sent.failed_temporary == 2, "an unknown certificate is refused"
        assert "CERTIFICATE_VERIFY_FAILED" in (messages(engine)[0].last_error or "")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        trusted = sending.run_fieldwork(engine, settings, clock=Clock(NOW + dt.timedelta(hours=1)))
        assert trusted.sent.sent == 2
    finally:
        controller.stop()
    assert sorted(handler.recipients()) == ["ana@x.org", "luis@x.org"]
