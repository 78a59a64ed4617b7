"""A client generated from ActionMFA's own OpenAPI document runs the MFA story against a live server.

``openapi-python-client`` (pinned, in a tool venv: ``tools.py``) turns the document ``/openapi.json``
serves into a package in a temp dir; the test imports it and, with nothing but the generated
functions and models, signs in by email, enrols TOTP, is refused a gated ``PUT /users``, mints an
MFA token with a TOTP code and spends it on the same ``PUT /users``. Every answer must parse into the
generated model the document names for its status.
"""

from __future__ import annotations

import compileall
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from actionmfa.services.signin.mailer import MailMessage
from actionmfa.store.db import Database
from tests.conftest import make_environment
from tests.live_server import LiveServer, serve
from tests.openapi.tools import PACKAGE, generate_client, importable


@dataclass
class Inbox:
    """The mailer: keeps what the server sends (the sign-in code is read from it)."""

    received: list[MailMessage] = field(default_factory=list)

    def send(self, message: MailMessage) -> None:
        self.received.append(message)

    def code_for(self, address: str) -> str:
        mail = next(m for m in reversed(self.received) if m.to == address)
        found = re.search(r"\b(\d{6})\b", mail.text)
        assert found is not None, mail.text
        return found.group(1)


@dataclass
class Stage:
    server: LiveServer
    environment_id: str
    clock: FrozenClock
    inbox: Inbox


@pytest.fixture
def stage(sqlite_url: str, tmp_path: Path, keyring: Keyring) -> Iterator[Stage]:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    runtime = Runtime.build(ServerConfig(data_dir=tmp_path / "data"), clock=clock, keyring=keyring,
                            db=Database(sqlite_url))
    inbox = Inbox()
    runtime.mailer = inbox
    env = make_environment(runtime, "Generated", {"security": {"mfa": {
        "methods": [{"type": "totp", "enabled": True}],
        "actions": [{"action": "user.update", "required": True}],
    }}})
    try:
        with serve(runtime) as server:
            yield Stage(server, env.id, clock, inbox)
    finally:
        runtime.db.dispose()


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_generated_client_runs_sign_in_totp_mfa_token_and_a_gated_update(stage: Stage, tmp_path: Path) -> None:
    document = httpx.get(f"{stage.server.url}/openapi.json", timeout=60).json()
    package = generate_client(document, tmp_path)
    assert compileall.compile_dir(str(package), quiet=1)  # every operation's module, not only those used here
    importable(package)
    client_mod, models = _module("client"), _module("models")
    auth_api = "api.auth."
    create_verification = _module(auth_api + "create_email_verification")
    email_sign_in = _module(auth_api + "sign_in_with_email_verification")
    register_totp = _module("api.mfa.register_totp_mfa_device")
    verify_totp = _module("api.mfa.register_totp_mfa_device_verify")
    auth_totp = _module("api.mfa.auth_mfa_totp_device")
    update_self = _module("api.users.update_self")
    env_id, email = stage.environment_id, "grace@example.com"

    timeout = httpx.Timeout(60)  # the first answers are slow on a loaded machine (not a pass/fail timing)
    anonymous = client_mod.Client(base_url=stage.server.url, raise_on_unexpected_status=True, timeout=timeout)
    created = create_verification.sync(env_id, client=anonymous, body=models.EmailVerificationCreate(email=email))
    assert isinstance(created, models.EmailVerificationCreated) and created.email == email
    signed_in = email_sign_in.sync(env_id, client=anonymous, body=models.EmailVerificationSignIn(
        verification_uuid=created.verification_uuid, verification_token=stage.inbox.code_for(email)))
    assert isinstance(signed_in, models.VerifyResponse), signed_in
    assert signed_in.user.project_environment_id == env_id and signed_in.minified_jwt == signed_in.jwt

    def as_user(jwt: str) -> Any:
        return client_mod.AuthenticatedClient(base_url=stage.server.url, token=jwt, raise_on_unexpected_status=True,
                                              timeout=timeout)

    user = as_user(signed_in.jwt)
    pending = register_totp.sync(env_id, client=user)
    assert isinstance(pending, models.TotpRegistration), pending
    device = verify_totp.sync(env_id, client=user, body=models.TotpRegisterBody(
        code=totp.code_at(pending.secret, stage.clock.now())))
    assert isinstance(device, models.MfaDevice) and device.verified and device.id == pending.id

    refused = update_self.sync_detailed(env_id, client=user, body=models.UserFields(alias="Grace"))
    assert refused.status_code == 403 and isinstance(refused.parsed, models.ErrorBody), refused.content
    assert refused.parsed.code == "mfa_required"

    stage.clock.advance(30)  # a code is accepted once: the next time step's
    authed = auth_totp.sync(env_id, client=user, body=models.TotpAuthBody(
        code=totp.code_at(pending.secret, stage.clock.now()), create_mfa_token=models.CreateMfaToken(single_use=True)))
    assert isinstance(authed, models.VerifyResponse) and isinstance(authed.mfa_token, str), authed
    user = as_user(authed.jwt)

    updated = update_self.sync(env_id, client=user, body=models.UserFields(alias="Grace"),
                               x_mfa_auth_token=authed.mfa_token)
    assert isinstance(updated, models.UpdateSelfResponse), updated
    assert updated.user.alias == "Grace" and updated.next_view == "done"

    spent = update_self.sync_detailed(env_id, client=user, body=models.UserFields(alias="Again"),
                                      x_mfa_auth_token=authed.mfa_token)
    assert spent.status_code == 403 and isinstance(spent.parsed, models.ErrorBody)  # single use
