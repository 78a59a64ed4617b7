"""The README's first screen, run as a newcomer would, from a clean clone (issue 12).

``git clone`` of this checkout's HEAD, then the first screen's commands in the clone, each bounded
in time: ``./scripts/serve`` (until ``/health`` answers; ``/``, ``/dashboard`` and the bootstrap
file as described), ``source .venv/bin/activate && actionmfa env require wallet.waas.sign`` (the
running server then gates signing), ``./scripts/test --co`` (collects: the test command works; the
suite itself is not run from inside itself) and ``actionmfa demo`` (the whole story, with the real
2048-bit safe-prime key pool).

One shortcut, so that the test needs neither the network nor minutes of ``pip install``: the clone's
``.venv`` is a fresh venv that sees this checkout's installed dependencies and the clone's own
``src`` (two ``.pth`` files) with the ``actionmfa`` console script — what an editable install makes —
so the code that runs is the clone's own. (CI's ``.ci/run`` does the real install from scratch.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SERVE_DEADLINE = 180.0
DEMO_DEADLINE = 900.0  # a real safe-prime search on a loaded 2-core machine


def first_screen() -> str:
    text = (ROOT / "README.md").read_text()
    return text[: text.index("```python")]


def test_the_first_screen_names_the_commands_this_test_runs() -> None:
    screen = first_screen()
    block = re.search(r"```bash\n(.*?)```", screen, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["./scripts/serve", "./scripts/test"]
    for text in ("/dashboard", "source .venv/bin/activate", "actionmfa env require\n  wallet.waas.sign",
                 "actionmfa demo", "bootstrap.json"):
        assert text in screen, text


def _clone(tmp: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "_a_src.pth").write_text(str(clone / "src") + "\n")
    (site / "_b_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = venv / "bin" / "actionmfa"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom actionmfa.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    want = hashlib.sha256((clone / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".actionmfa-installed").write_text(want + "\n")  # what scripts/_venv.sh checks
    return clone


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONMFA_")}
    env.update(ACTIONMFA_PORT=str(port), ACTIONMFA_WALLET_POOL_WARM="false", PYTHONDONTWRITEBYTECODE="1")
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)  # a developer's PYTHONPATH=…/src would import their checkout, not the clone
    return env


def test_the_first_screen_from_a_clean_clone(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    probe = "import actionmfa; print(actionmfa.__file__)"
    where = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", probe],
                           capture_output=True, text=True, timeout=60, check=True, env=_env(0))
    assert where.stdout.startswith(str(clone / "src")), where.stdout  # the clone's code, not this checkout's
    port = free_port()
    env = _env(port)
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(["./scripts/serve"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + SERVE_DEADLINE
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health in time"
            time.sleep(0.5)
        out = (tmp_path / "serve.log").read_text()
        assert f"dashboard: {base}/dashboard" in out and "--mail-log" in out
        boot = json.loads((clone / ".actionmfa" / "bootstrap.json").read_text())
        assert boot["environmentId"] in out and boot["adminToken"] in out
        landing = httpx.get(f"{base}/", timeout=10).text
        assert 'href="/dashboard"' in landing and 'href="/docs"' in landing
        assert httpx.get(f"{base}/dashboard/login", timeout=10).status_code == 200

        done = subprocess.run(["bash", "-c", "source .venv/bin/activate && actionmfa env require wallet.waas.sign"],
                              cwd=clone, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert f"Environment {boot['environmentId']} requires MFA for wallet.waas.sign" in done.stdout
        settings = httpx.get(f"{base}/api/v0/sdk/{boot['environmentId']}/settings", timeout=10).json()
        actions = settings["security"]["mfa"]["actions"]
        assert {"action": "wallet.waas.sign", "required": True}.items() <= next(
            a for a in actions if a["action"] == "wallet.waas.sign").items()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    collected = subprocess.run(["./scripts/test", "--co", "-q", "tests/unit/test_layers.py"], cwd=clone, env=env,
                               capture_output=True, text=True, timeout=300, check=False)
    assert collected.returncode == 0, collected.stdout + collected.stderr

    demo = subprocess.run([str(clone / ".venv" / "bin" / "actionmfa"), "demo"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=DEMO_DEADLINE, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stdout + demo.stderr
    assert "matches the wallet" in demo.stdout and "10. Audit log" in demo.stdout
