"""The Streamlit frontend works under the app's Content-Security-Policy with no violation.

This is the test that found the policy in ``outcomes.web.headers.csp_directives`` (see
docs/security.md, "Hardening"): a real ``streamlit run app.py``, Chromium signing in as an
administrator, every page of the menu and every tab of the Impact dashboard with its Altair
charts. Chromium reports each blocked load or inline script as a ``securitypolicyviolation``
event (collected by an init script) and as a console error; both must stay empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.serving import PASSWORD, RunningApp, running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
  });
});
"""
ADMIN_PAGES = ("Overview", "Programmes", "Impact", "Staff users", "Audit trail", "Privacy requests")
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("browser")) as running:
        yield running


def settle(page: Any) -> None:
    """Wait until Streamlit has finished the rerun (no running indicator, network idle)."""
    page.wait_for_load_state("networkidle")
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)


def is_csp_message(text: str) -> bool:
    return "Content Security Policy" in text or "Content-Security-Policy" in text


def test_signing_in_and_opening_every_page_and_chart_violates_nothing(
    chromium: Any, server: RunningApp
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

    page.goto(server.base_url + "/", wait_until="networkidle")
    email = page.get_by_role("textbox", name="Email")
    email.wait_for(timeout=TIMEOUT_MS)
    email.fill(server.email("admin"))
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("textbox", name="Password").press("Enter")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for(timeout=TIMEOUT_MS)

    for title in ADMIN_PAGES:
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title).first.wait_for(timeout=TIMEOUT_MS)
        settle(page)
        if title == "Impact":
            page.get_by_role("tab").first.wait_for(timeout=TIMEOUT_MS)
            tabs = page.get_by_role("tab").all()
            assert len(tabs) >= 2, "the dashboard has its tabs"
            for tab in [*tabs[1:], tabs[0]]:  # every tab, ending on the first, which has charts
                tab.click()
                settle(page)
            chart = page.locator("[data-testid=stVegaLiteChart]:visible").first
            chart.wait_for(timeout=TIMEOUT_MS)
            assert chart.locator("canvas, svg").count() > 0, "the chart was drawn"
        assert page.locator("[data-testid=stException]").count() == 0, title

    violations = page.evaluate("window.__cspViolations")
    context.close()
    assert violations == []
    assert [line for line in console if is_csp_message(line)] == []
    assert [line for line in console if line.startswith("pageerror")] == []
