"""axe-core, the accessibility rules engine, run in the survey's pages.

axe-core comes from npm, at the version pinned here, into ``.cache/npm`` (git-ignored);
``.ci/run`` installs it before the suite, and a test run installs it when it is missing.
Without npm (or the registry) the accessibility tests skip, saying why, except under CI
(``CI=true``), where that is a failure.

The survey pages' Content-Security-Policy allows no script but their own (by hash), so axe
cannot be added as a ``<script>`` element. It is given to the browser context as an init
script instead (``Page.addScriptToEvaluateOnNewDocument`` over CDP), which runs in every page
before the page's own scripts and is not subject to the page's policy. So axe inspects the
pages exactly as graduates get them, under their real policy, with no ``bypass_csp``: a
style or script the policy blocked would show in the audit (and as a console error).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

# Pinned, so that a new rule in a new release changes the suite in a commit, not overnight.
# .ci/run reads this line.
AXE_VERSION = "4.14.1"
NPM_PREFIX = REPO_ROOT / ".cache" / "npm"
AXE_SCRIPT = NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"

# Every rule axe runs by default: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best
# practices (experimental rules and AAA ones stay off).
RUN_AXE = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return {
    version: axe.version,
    violations: results.violations.map((rule) => ({
      id: rule.id,
      impact: rule.impact,
      help: rule.help,
      targets: rule.nodes.map((node) => node.target.join(" ")),
    })),
  };
}"""


def _installed_version() -> str | None:
    manifest = AXE_SCRIPT.parent / "package.json"
    if not AXE_SCRIPT.exists() or not manifest.exists():
        return None
    return str(json.loads(manifest.read_text()).get("version"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"The accessibility tests must run in CI, but {reason}.")
    pytest.skip(reason)


def axe_source() -> str:
    """The text of ``axe.min.js`` at ``AXE_VERSION``, installed with npm first if missing."""
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    # Two test workers may both find it missing: one installs while the other waits.
    with (NPM_PREFIX / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_version() != AXE_VERSION:
            npm = shutil.which("npm")
            if npm is None:
                _unavailable("npm is missing (apt-get install npm) to install axe-core")
            done = subprocess.run(
                [
                    str(npm),
                    "install",
                    "--prefix",
                    str(NPM_PREFIX),
                    "--no-save",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    f"axe-core@{AXE_VERSION}",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0 or _installed_version() != AXE_VERSION:
                _unavailable(f"npm could not install axe-core@{AXE_VERSION}: {done.stderr[-500:]}")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def load_into(context: Any, source: str) -> None:
    """Make axe (``source``) available in every page that ``context`` opens from now on."""
    context.add_init_script(script=source)


def violations(page: Any) -> list[dict[str, Any]]:
    """Run axe in ``page`` (of a context axe was loaded into) and return its violations."""
    result = page.evaluate(RUN_AXE)
    assert result["version"] == AXE_VERSION
    return list(result["violations"])


def describe(found: list[dict[str, Any]]) -> str:
    """The violations, one line per rule with its impact and the elements that fail it."""
    return "\n".join(
        f"{item['id']} ({item['impact']}): {item['help']} — {', '.join(item['targets'])}"
        for item in found
    )
