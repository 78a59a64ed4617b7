"""Issue 11.3: N server processes starting together on a fresh store (SQLite data dir or an empty
PostgreSQL database) — exactly one environment, one operator token, one keyring.

    python -m benchmarks.startup_race --rounds 30 --processes 4                     # SQLite
    python -m benchmarks.startup_race --rounds 30 --processes 4 --database-url URL  # PostgreSQL
      (URL of a server; each round creates and drops an empty database on it)

Each process runs the real start-up path (:func:`actionmfa.server.prepare`: keys file, migrations,
bootstrap). They are released together: each imports everything, writes a ready file, and waits
for a go file. Prints one JSON line per round and a summary. tests/test_startup_race.py runs a few
rounds of the same thing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def child(data_dir: Path, url: str | None, gate: Path, index: int) -> None:
    from actionmfa.config import ServerConfig
    from actionmfa.server import prepare

    (gate / f"ready-{index}").touch()
    deadline = time.monotonic() + 120
    while not (gate / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go")
        time.sleep(0.001)
    runtime, boot = prepare(ServerConfig(data_dir=data_dir, database_url=url))
    print(json.dumps({
        "bootstrapped": boot.environment_id if boot else None,
        "keyring": hashlib.sha256(runtime.keyring.hash_key).hexdigest()[:16],
    }))
    runtime.close()
    runtime.db.dispose()


@dataclass
class Round:
    processes: int
    failed: int
    bootstrapped: int
    environments: int
    operator_tokens: int
    keyrings: int
    bootstrap_file_matches: bool
    errors: list[str]

    @property
    def ok(self) -> bool:
        return (self.failed == 0 and self.bootstrapped == 1 and self.environments == 1
                and self.operator_tokens == 1 and self.keyrings == 1 and self.bootstrap_file_matches)


def _counts(url: str) -> tuple[int, int, set[str]]:
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0, 0, set()  # every process failed before creating the store
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            envs = {r[0] for r in conn.execute(text("SELECT id FROM environments"))}
            ops = conn.execute(text("SELECT count(*) FROM admin_tokens WHERE environment_id IS NULL")).scalar_one()
    finally:
        engine.dispose()
    return len(envs), int(ops), envs


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if "Error:" in ln or "Error)" in ln]
    return (lines[-1] if lines else stderr.strip()[-200:])[:200]


def race_round(root: Path, *, processes: int = 4, server_url: str | None = None) -> Round:
    """One round on a fresh store under ``root``: SQLite, or an empty database on ``server_url``."""
    data_dir, gate = root / "data", root / "gate"
    gate.mkdir(parents=True)
    db_url: str | None = None
    admin = None
    if server_url:
        base = make_url(server_url).set(drivername="postgresql+psycopg")
        name = f"race_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = base.set(database=name).render_as_string(hide_password=False)
    cmd = [sys.executable, "-m", "benchmarks.startup_race", "--child", str(data_dir), str(gate), db_url or ""]
    procs = [subprocess.Popen([*cmd, str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent) for i in range(processes)]
    try:
        deadline = time.monotonic() + 180
        while len(list(gate.glob("ready-*"))) < processes:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.01)
        (gate / "go").touch()
        outs = [p.communicate(timeout=180) for p in procs]
        failed = sum(1 for p in procs if p.returncode != 0)
        errors = [_last_error(err) for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0]
        results = [json.loads(out.strip().splitlines()[-1]) for p, (out, _) in zip(procs, outs, strict=True)
                   if p.returncode == 0 and out.strip()]
        url = db_url or f"sqlite:///{(data_dir / 'actionmfa.db').resolve()}"
        envs, ops, ids = _counts(url)
        boot_file = data_dir / "bootstrap.json"
        matches = boot_file.exists() and json.loads(boot_file.read_text())["environmentId"] in ids
        return Round(processes, failed, sum(1 for r in results if r["bootstrapped"]), envs, ops,
                     len({r["keyring"] for r in results}), bool(matches), errors)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if admin is not None and db_url is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(db_url).database}" WITH (FORCE)'))
            admin.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--child":
        _, data_dir, gate, url, index = args
        child(Path(data_dir), url or None, Path(gate), int(index))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--database-url", default=None)
    ns = ap.parse_args(args)
    good = 0
    for n in range(ns.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            result = race_round(Path(tmp), processes=ns.processes, server_url=ns.database_url)
        good += result.ok
        line: dict[str, Any] = {"round": n + 1, "ok": result.ok, **asdict(result)}
        print(json.dumps(line), flush=True)
    print(json.dumps({"rounds": ns.rounds, "ok": good, "backend": "postgresql" if ns.database_url else "sqlite"}))


if __name__ == "__main__":
    main()
