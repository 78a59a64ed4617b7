"""openapi-python-client, in a virtual environment of its own, to generate a client at test time.

The generator pins ``typer<0.28`` while the server pins a newer typer, so it cannot share the
project's venv. ``openapi-python-client.txt`` pins it and everything it pulls in; the venv is made
once per pin set under ``tests/openapi/.tools`` (git-ignored; a stamp holds the pins' hash), like
``npm ci`` for the Node tests. The client it generates needs only httpx, attrs and python-dateutil,
which the project's test extras pin, so the test imports it in its own process.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from tests.install_lock import installing

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "openapi-python-client.txt"
TOOLS_DIR = HERE / ".tools"
INSTALL_TIMEOUT_SECONDS = 300
PACKAGE = "actionmfa_generated"  # with ``--meta none`` the output directory is the package


def generator() -> Path:
    """The ``openapi-python-client`` executable (installing its venv on first use)."""
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = TOOLS_DIR / "stamp"
    exe = TOOLS_DIR / "bin" / "openapi-python-client"
    if stamp.exists() and stamp.read_text().strip() == want and exe.exists():
        return exe
    with installing(TOOLS_DIR):
        if not (stamp.exists() and stamp.read_text().strip() == want and exe.exists()):
            _install(want)
    return exe


def _install(want: str) -> None:
    stamp = TOOLS_DIR / "stamp"
    shutil.rmtree(TOOLS_DIR, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS_DIR)
    done = subprocess.run(
        [str(TOOLS_DIR / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"could not install openapi-python-client:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    stamp.write_text(want + "\n")


def generate_client(document: dict[str, Any], directory: Path) -> Path:
    """Generate a client package from ``document`` into ``directory``; returns the package's path."""
    spec = directory / "openapi.json"
    spec.write_text(json.dumps(document))
    config = directory / "config.json"
    # The QR code route answers images: the generated client hands them over as bytes.
    config.write_text(json.dumps({"post_hooks": [], "content_type_overrides": {
        "image/svg+xml": "application/octet-stream", "image/png": "application/octet-stream"}}))
    out = directory / PACKAGE
    done = subprocess.run(
        [str(generator()), "generate", "--path", str(spec), "--meta", "none", "--output-path", str(out),
         "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"openapi-python-client refused the document:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return out


def importable(package_dir: Path) -> None:
    """Make the generated package importable as :data:`PACKAGE`."""
    parent = str(package_dir.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
