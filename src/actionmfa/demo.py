"""``actionmfa demo``: the whole story against an embedded server, narrated.

An in-process server (uvicorn on a loopback port, SQLite in a temporary directory) with an
environment where signing and export need MFA; the SDK signs a user in by email code, enrols TOTP,
creates a two-party wallet, is refused a signature without MFA, approves one with a TOTP code, and
exports the key. The demo plays the user's authenticator app (it knows the TOTP secret) and reads
the sign-in code from an in-memory mail sink. The embedded server runs on a clock the demo moves
30 s between TOTP codes, because a code's time step is accepted once (RFC 6238 §5.2).

The wallet's Paillier key pool starts with the server and the demo waits for its first key with a
progress bar before creating the wallet: a 2048-bit safe-prime search takes from a second to
minutes on a busy machine, longer than an SDK request should wait.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.errors import ActionMFAError
from actionmfa.services.runtime import Runtime
from actionmfa.services.signin.mailer import MailMessage

POOL_WAIT_SECONDS = 600.0  # a safe-prime search on a loaded 2-core box can take minutes
SDK_TIMEOUT_SECONDS = 60.0


class DemoError(Exception):
    """An expected way for the demo to stop (reported in one line, never as a traceback)."""

DEMO_SETTINGS: dict[str, Any] = {
    "security": {
        "mfa": {
            "enrollment": "action",
            "actions": [
                {"action": "wallet.waas.sign", "required": True},
                {"action": "wallet.waas.export", "required": True},
            ],
        }
    }
}


class MemoryMailer:
    """Keeps sign-in mail in memory so the demo can read the code."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    def send(self, message: MailMessage) -> None:
        self.sent.append(message)

    def last_code(self) -> str:
        found = re.search(r"\b(\d{6})\b", self.sent[-1].text)
        if not found:
            raise RuntimeError("no code in the demo mail")
        return found.group(1)


@contextmanager
def _embedded_server(runtime: Runtime) -> Iterator[str]:
    import socket

    import uvicorn

    from actionmfa.api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the embedded server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_key_pool(runtime: Runtime, out: TextIO, *, timeout: float = POOL_WAIT_SECONDS) -> float:
    """Start the Paillier key pool (if it is not running) and wait for its first key, showing a
    progress bar (rich) on ``out``. Returns the seconds waited; :class:`DemoError` after ``timeout``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    pool = runtime.services.wallets.keys.start()
    started = time.monotonic()
    if len(pool) > 0:
        return 0.0
    console = Console(file=out, highlight=False)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("   searching for 2048-bit safe primes (the server's Paillier key)", total=1)
        while len(pool) == 0:
            if time.monotonic() - started > timeout:
                raise DemoError(f"the wallet key pool produced no key in {timeout:.0f} s; is the machine overloaded?")
            time.sleep(0.1)
        progress.update(task, completed=1)
    return time.monotonic() - started


def run_demo(out: TextIO, *, paillier_generator: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run the story; returns what it established (for tests). ``paillier_generator`` lets tests
    skip the 2048-bit safe-prime search."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    with tempfile.TemporaryDirectory(prefix="actionmfa-demo-") as tmp:
        root = Path(tmp)
        clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        mailer = MemoryMailer()
        runtime = Runtime.build(ServerConfig(data_dir=root / "data"), clock=clock, mailer=mailer)
        try:
            return _story(runtime, root, clock, mailer, say, out, paillier_generator)
        finally:
            runtime.close()  # the key pool's child process too
            runtime.db.dispose()


def _story(
    runtime: Runtime,
    root: Path,
    clock: FrozenClock,
    mailer: MemoryMailer,
    say: Callable[[str], None],
    out: TextIO,
    paillier_generator: Callable[[], Any] | None,
) -> dict[str, Any]:
    import pyotp
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from actionmfa.sdk.client import Client

    if paillier_generator is not None:
        runtime.services.wallets.keys.use(paillier_generator)
    runtime.db.migrate()
    runtime.services.wallets.keys.start()  # the prime search runs while the user signs in
    with runtime.db.write() as uow:
        created = runtime.environments.create(uow, name="demo", settings=DEMO_SETTINGS)
    env = created.environment
    with _embedded_server(runtime) as url, Client(env.id, base_url=url, timeout=SDK_TIMEOUT_SECONDS) as client:
        say(f"ActionMFA demo — embedded server on {url} (SQLite in {root})")
        say(f"1. Environment {env.id}: wallet.waas.sign and wallet.waas.export require MFA (enrollment: action)")

        client.auth.email.send_code("alice@example.com")
        code = mailer.last_code()
        client.auth.email.verify(code)
        me = client.users.me()
        say(f"2. alice@example.com signed in with the emailed code {code} → user {me.id}, scope {me.scope}")

        setup = client.mfa.add_device()
        totp = pyotp.TOTP(setup.secret)
        client.mfa.verify_device(totp.at(clock.now()))
        codes = client.mfa.get_recovery_codes()
        client.mfa.complete_acknowledgement()
        say(
            f"3. TOTP enrolled ({setup.uri.split('?')[0]}); {len(codes)} recovery codes shown once and acknowledged"
        )

        client.wallets.configure(share_dir=root / "shares")
        say("4. Creating a two-party wallet (the server's Paillier key comes from its key pool)…")
        waited = wait_for_key_pool(runtime, out)
        if waited:
            say(f"   key pool warm after {waited:.1f} s")
        started = time.monotonic()
        wallet = client.wallets.create()
        say(
            f"   wallet {wallet.address} in {time.monotonic() - started:.1f} s — user share on disk, "
            "server share sealed in the database; neither alone can sign"
        )

        try:
            wallet.sign_message("hello from the demo")
            raise RuntimeError("signing without MFA was not refused")
        except ActionMFAError as err:
            say(f"5. Sign without MFA → refused: {err.status_code} {err.code} ({err.message})")

        clock.advance(30)
        token = client.mfa.authenticate_device(code=totp.at(clock.now()), create_mfa_token={"single_use": True})
        say(f"6. TOTP code accepted → single-use MFA token …{(token or '')[-6:]} (kept by the SDK)")

        signed = wallet.sign_message("hello from the demo")
        recovered = Account.recover_message(encode_defunct(text="hello from the demo"), signature=signed.signature)
        say(
            f"7. Signed with the token applied automatically; eth-account recovers {recovered}"
            f" — {'matches' if recovered == wallet.address else 'DOES NOT MATCH'} the wallet"
        )

        try:
            wallet.sign_message("once more")
            raise RuntimeError("a spent single-use token was accepted")
        except ActionMFAError as err:
            say(f"8. Sign again → refused: {err.code} (the token was single-use and is spent)")

        clock.advance(30)
        client.mfa.authenticate_device(code=totp.at(clock.now()), create_mfa_token={"single_use": True})
        key = wallet.export_private_key()
        exported = Account.from_key(bytes.fromhex(key)).address
        say(
            f"9. Export with a fresh TOTP code → 64 hex characters; key's address {exported}"
            f" — {'matches' if exported == wallet.address else 'DOES NOT MATCH'}"
        )

        operator = runtime.services.core.access.admin(created.admin_token)
        rows = runtime.services.operator.audit_log.page(operator, env.id, cursor=None, limit=200).events
        events = sorted({r["event"] for r in rows})
        say(f"10. Audit log: {len(rows)} events ({', '.join(events)})")
    return {
        "address": wallet.address,
        "recovered": recovered,
        "exported_address": exported,
        "audit_events": len(rows),
    }
