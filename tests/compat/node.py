"""Node.js for the compatibility tests: find it, install the pinned npm packages, run a script.

The packages are pinned by ``tests/compat/package-lock.json`` and installed with ``npm ci`` into
``tests/compat/node_modules`` (git-ignored), once per lockfile: a stamp file holds the lockfile's
hash. Install scripts are not run (``--ignore-scripts``): the packages are plain JavaScript.

Locally a missing ``node`` skips these tests with the reason; in CI (``CI`` set) it is a failure,
since ``.ci/run`` installs Debian's ``nodejs`` and ``npm``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.install_lock import installing

COMPAT_DIR = Path(__file__).resolve().parent
NODE_MODULES = COMPAT_DIR / "node_modules"
STAMP = NODE_MODULES / ".actionmfa-lock-sha256"
INSTALL_TIMEOUT_SECONDS = 300


def node_tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "Node.js and npm are not installed (apt-get install nodejs npm)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run must install them")
        pytest.skip(reason)
    return node, npm


def install_packages() -> None:
    """``npm ci`` the lockfile's packages unless this exact lockfile is already installed."""
    _, npm = node_tools()
    want = hashlib.sha256((COMPAT_DIR / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    with installing(NODE_MODULES):
        if STAMP.exists() and STAMP.read_text().strip() == want:
            return  # another test worker installed it while this one waited
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=COMPAT_DIR,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        STAMP.write_text(want + "\n")


@dataclass(frozen=True)
class NodeRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def failures(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("FAIL")]


def run_script(script: str, env: dict[str, str], *, timeout: float = 120) -> NodeRun:
    node, _ = node_tools()
    try:
        done = subprocess.run(
            [node, str(COMPAT_DIR / script)],
            cwd=COMPAT_DIR,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        out = hung.stdout.decode() if isinstance(hung.stdout, bytes) else hung.stdout or ""
        err = hung.stderr.decode() if isinstance(hung.stderr, bytes) else hung.stderr or ""
        return NodeRun(-1, f"{out}FAIL {script} did not finish within {timeout:.0f} s\n", err)
    return NodeRun(done.returncode, done.stdout, done.stderr)
