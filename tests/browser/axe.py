"""axe-core (pinned by tests/browser/package-lock.json) injected into a Playwright page.

``npm ci`` installs it into tests/browser/node_modules (git-ignored) once per lockfile, as
tests/compat does for Dynamic's clients; without npm the accessibility tests are skipped.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.install_lock import installing

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
STAMP = HERE / "node_modules" / ".lock-sha256"


def axe_script() -> Path:
    lock = HERE / "package-lock.json"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if AXE.exists() and STAMP.exists() and STAMP.read_text() == want:
        return AXE
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (apt-get install npm): axe-core cannot be installed")
    with installing(HERE / "node_modules"):
        if AXE.exists() and STAMP.exists() and STAMP.read_text() == want:
            return AXE  # another test worker installed it while this one waited
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        STAMP.write_text(want)
    return AXE


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is now (WCAG 2.x A/AA)."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
