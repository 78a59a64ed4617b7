"""The software authenticator: sealed file, exclusion, key export."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from actionmfa.factors import passkey as pk
from actionmfa.factors.soft_authenticator import EDDSA, ES256, SoftAuthenticator, SoftAuthenticatorError

RP = pk.RelyingParty(id="localhost", name="T", origins=("http://localhost:8080",))


def _options(exclude: list[pk.CredentialDescriptor] | None = None) -> dict[str, object]:
    return pk.registration_options(
        rp=RP,
        user_handle=b"h" * 16,
        user_name="u",
        user_display_name="u",
        challenge=secrets.token_bytes(32),
        exclude=exclude or [],
    )


def test_sealed_file_roundtrip(tmp_path: Path) -> None:
    auth = SoftAuthenticator()
    auth.create(_options(), origin="http://localhost:8080", algorithm=ES256)
    auth.create(_options(), origin="http://localhost:8080", algorithm=EDDSA)
    path = tmp_path / "keys.json"
    auth.save(path, "correct horse")
    assert os.stat(path).st_mode & 0o777 == 0o600
    text = path.read_text()
    for cred in auth.credentials.values():
        assert pk.b64u(cred.pkcs8()) not in text  # the keys are sealed, not stored in clear
    again = SoftAuthenticator.load(path, "correct horse")
    assert {c.credential_id: c.algorithm for c in again.credentials.values()} == {
        c.credential_id: c.algorithm for c in auth.credentials.values()
    }


def test_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    SoftAuthenticator().save(path, "one")
    with pytest.raises(SoftAuthenticatorError):
        SoftAuthenticator.load(path, "two")


def test_excluded_credential_is_not_created_twice() -> None:
    auth = SoftAuthenticator()
    resp = auth.create(_options(), origin="http://localhost:8080")
    with pytest.raises(SoftAuthenticatorError):
        auth.create(
            _options([pk.CredentialDescriptor(pk.b64u_decode(resp["rawId"]))]), origin="http://localhost:8080"
        )


def test_counter_increments_per_assertion() -> None:
    auth = SoftAuthenticator()
    resp = auth.create(_options(), origin="http://localhost:8080")
    cred = auth.credentials[pk.b64u_decode(resp["rawId"])]
    opts = pk.authentication_options(rp=RP, challenge=secrets.token_bytes(32), allow=[])
    auth.get(opts, origin="http://localhost:8080")
    auth.get(opts, origin="http://localhost:8080")
    assert cred.sign_count == 2


def test_no_matching_credential() -> None:
    opts = pk.authentication_options(rp=RP, challenge=secrets.token_bytes(32), allow=[])
    with pytest.raises(SoftAuthenticatorError):
        SoftAuthenticator().get(opts, origin="http://localhost:8080")
