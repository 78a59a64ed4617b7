"""WebAuthn options and verification (factors/passkey.py) against the software authenticator."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from actionmfa.errors import InvalidRequestError, PasskeyInvalidError
from actionmfa.factors import passkey as pk
from actionmfa.factors.soft_authenticator import EDDSA, ES256, SoftAuthenticator

ORIGIN = "https://app.example.com"
RP = pk.RelyingParty(id="example.com", name="Example", origins=(ORIGIN, "https://pay.example.com"))
HANDLE = bytes(range(16))


def _register(auth: SoftAuthenticator, *, alg: int = ES256, **kw: Any) -> tuple[pk.VerifiedPasskey, bytes]:
    challenge = secrets.token_bytes(32)
    options = pk.registration_options(
        rp=RP, user_handle=HANDLE, user_name="ada@example.com", user_display_name="Ada", challenge=challenge
    )
    resp = auth.create(options, origin=kw.pop("origin", ORIGIN), algorithm=alg, **kw)
    verified = pk.verify_registration(
        credential=resp, expected_challenge=challenge, expected_rp_id=RP.id, expected_origins=RP.origins
    )
    return verified, challenge


def _assert(
    auth: SoftAuthenticator, passkey: pk.VerifiedPasskey, *, stored: int = 0, **kw: Any
) -> pk.VerifiedAssertion:
    challenge = secrets.token_bytes(32)
    options = pk.authentication_options(
        rp=RP, challenge=challenge, allow=[pk.CredentialDescriptor(passkey.credential_id)]
    )
    resp = auth.get(options, origin=kw.pop("origin", ORIGIN), **kw)
    return pk.verify_authentication(
        credential=resp,
        expected_challenge=challenge,
        expected_rp_id=RP.id,
        expected_origins=RP.origins,
        credential_public_key=passkey.public_key,
        stored_sign_count=stored,
        expected_user_handle=HANDLE,
    )


def _reason(exc: pytest.ExceptionInfo[PasskeyInvalidError]) -> str:
    assert exc.value.code == "passkey_invalid"
    assert exc.value.payload is not None
    return str(exc.value.payload["reason"])


def test_registration_options_are_webauthn_l3_json() -> None:
    challenge = secrets.token_bytes(32)
    opts = pk.registration_options(
        rp=RP,
        user_handle=HANDLE,
        user_name="ada@example.com",
        user_display_name="Ada",
        challenge=challenge,
        exclude=[pk.CredentialDescriptor(b"\x01" * 16, ("internal",))],
    )
    assert opts["rp"] == {"id": "example.com", "name": "Example"}
    assert [p["alg"] for p in opts["pubKeyCredParams"]] == [-7, -8, -257]
    assert opts["authenticatorSelection"]["userVerification"] == "required"
    assert opts["excludeCredentials"] == [
        {"id": "AQEBAQEBAQEBAQEBAQEBAQ", "type": "public-key", "transports": ["internal"]}
    ]
    assert opts["timeout"] == 300_000


def test_short_challenge_is_refused() -> None:
    with pytest.raises(ValueError):
        pk.authentication_options(rp=RP, challenge=b"x" * 16, allow=[])


@pytest.mark.parametrize("alg", [ES256, EDDSA])
def test_register_then_authenticate(alg: int) -> None:
    auth = SoftAuthenticator()
    passkey, _ = _register(auth, alg=alg)
    assert passkey.algorithm == alg
    assert passkey.sign_count == 0
    assert passkey.transports == ("internal",)
    assert passkey.user_verified
    first = _assert(auth, passkey, stored=0)
    second = _assert(auth, passkey, stored=first.new_sign_count)
    assert second.new_sign_count == first.new_sign_count + 1


def test_dynamic_client_data_json_casing_is_accepted() -> None:
    passkey, _ = _register(SoftAuthenticator(), client_data_key="clientDataJson")
    assert passkey.credential_id


def test_disagreeing_client_data_spellings_are_refused() -> None:
    cred = {"id": "AA", "rawId": "AA", "response": {"clientDataJSON": "e30", "clientDataJson": "e31"}}
    with pytest.raises(InvalidRequestError):
        pk.normalise_credential(cred)


def test_backup_flags_are_reported() -> None:
    passkey, _ = _register(SoftAuthenticator(backup_eligible=True, backed_up=True))
    assert passkey.backup_eligible and passkey.backed_up


def test_wrong_origin() -> None:
    with pytest.raises(PasskeyInvalidError) as exc:
        _register(SoftAuthenticator(), origin="https://evil.example.net")
    assert _reason(exc) == "origin"
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    with pytest.raises(PasskeyInvalidError) as exc:
        _assert(auth, passkey, origin="https://evil.example.net")
    assert _reason(exc) == "origin"


def test_related_origin_is_accepted() -> None:
    auth = SoftAuthenticator()
    passkey, _ = _register(auth, origin="https://pay.example.com")
    _assert(auth, passkey, origin="https://pay.example.com")


def test_wrong_rp_id() -> None:
    with pytest.raises(PasskeyInvalidError) as exc:
        _register(SoftAuthenticator(), rp_id="evil.example.net")
    assert _reason(exc) == "rp_id"
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    with pytest.raises(PasskeyInvalidError) as exc:
        _assert(auth, passkey, rp_id="evil.example.net")
    assert _reason(exc) == "rp_id"


def test_user_verification_is_required() -> None:
    with pytest.raises(PasskeyInvalidError) as exc:
        _register(SoftAuthenticator(), user_verified=False)
    assert _reason(exc) == "user_verification"
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    with pytest.raises(PasskeyInvalidError) as exc:
        _assert(auth, passkey, user_verified=False)
    assert _reason(exc) == "user_verification"


def test_other_challenge_is_refused() -> None:
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    options = pk.authentication_options(rp=RP, challenge=secrets.token_bytes(32), allow=[])
    resp = auth.get(options, origin=ORIGIN)
    with pytest.raises(PasskeyInvalidError) as exc:
        pk.verify_authentication(
            credential=resp,
            expected_challenge=secrets.token_bytes(32),
            expected_rp_id=RP.id,
            expected_origins=RP.origins,
            credential_public_key=passkey.public_key,
            stored_sign_count=0,
        )
    assert _reason(exc) == "challenge"


def test_signature_by_another_key_is_refused() -> None:
    auth, other = SoftAuthenticator(), SoftAuthenticator()
    passkey, _ = _register(auth)
    _register(other)
    challenge = secrets.token_bytes(32)
    options = pk.authentication_options(rp=RP, challenge=challenge, allow=[])
    resp = other.get(options, origin=ORIGIN)
    resp["id"] = resp["rawId"] = pk.b64u(passkey.credential_id)  # claim auth's credential
    with pytest.raises(PasskeyInvalidError) as exc:
        pk.verify_authentication(
            credential=resp,
            expected_challenge=challenge,
            expected_rp_id=RP.id,
            expected_origins=RP.origins,
            credential_public_key=passkey.public_key,
            stored_sign_count=0,
        )
    assert _reason(exc) == "signature"


def test_counter_must_grow() -> None:
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    done = _assert(auth, passkey, stored=0)
    auth.credentials[passkey.credential_id].sign_count = done.new_sign_count - 1  # a clone, behind
    with pytest.raises(PasskeyInvalidError) as exc:
        _assert(auth, passkey, stored=done.new_sign_count)
    assert _reason(exc) == "counter"


def test_zero_counters_are_allowed() -> None:
    auth = SoftAuthenticator(use_counter=False)
    passkey, _ = _register(auth)
    assert _assert(auth, passkey, stored=0).new_sign_count == 0
    assert _assert(auth, passkey, stored=0).new_sign_count == 0


@pytest.mark.parametrize(
    ("stored", "presented", "ok"),
    [
        (0, 0, True),
        (0, 1, True),
        (5, 6, True),
        (5, 5, False),
        (5, 4, False),
        (5, 0, False),
        (0, 2**32 - 1, True),
    ],
)
def test_sign_count_rule(stored: int, presented: int, ok: bool) -> None:
    assert pk.sign_count_ok(stored=stored, presented=presented) is ok


def test_user_handle_of_another_user_is_refused() -> None:
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    challenge = secrets.token_bytes(32)
    resp = auth.get(pk.authentication_options(rp=RP, challenge=challenge, allow=[]), origin=ORIGIN)
    with pytest.raises(PasskeyInvalidError) as exc:
        pk.verify_authentication(
            credential=resp,
            expected_challenge=challenge,
            expected_rp_id=RP.id,
            expected_origins=RP.origins,
            credential_public_key=passkey.public_key,
            stored_sign_count=0,
            expected_user_handle=b"\xff" * 16,
        )
    assert _reason(exc) == "user_handle"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["response"].update(clientDataJSON="!!!"),
        lambda c: c["response"].update(authenticatorData="AAAA"),
        lambda c: c.update(rawId="AAAA"),
        lambda c: c["response"].update(signature="AAAA"),
    ],
)
def test_malformed_assertions_are_refused_not_crashed(mutate: Any) -> None:
    auth = SoftAuthenticator()
    passkey, _ = _register(auth)
    challenge = secrets.token_bytes(32)
    resp = auth.get(pk.authentication_options(rp=RP, challenge=challenge, allow=[]), origin=ORIGIN)
    mutate(resp)
    with pytest.raises(PasskeyInvalidError):
        pk.verify_authentication(
            credential=resp,
            expected_challenge=challenge,
            expected_rp_id=RP.id,
            expected_origins=RP.origins,
            credential_public_key=passkey.public_key,
            stored_sign_count=0,
        )


def test_client_data_challenge_extraction() -> None:
    auth = SoftAuthenticator()
    challenge = secrets.token_bytes(32)
    opts = pk.registration_options(rp=RP, user_handle=HANDLE, user_name="a", user_display_name="a", challenge=challenge)
    resp = auth.create(opts, origin=ORIGIN)
    assert pk.client_data_challenge(pk.normalise_credential(resp)) == challenge


# -- robustness: any corruption is a typed refusal, never a crash ----------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_AUTH = SoftAuthenticator()
_REG_CHALLENGE = secrets.token_bytes(32)
_REG = _AUTH.create(
    pk.registration_options(rp=RP, user_handle=HANDLE, user_name="a", user_display_name="a", challenge=_REG_CHALLENGE),
    origin=ORIGIN,
)
_PASSKEY = pk.verify_registration(
    credential=_REG, expected_challenge=_REG_CHALLENGE, expected_rp_id=RP.id, expected_origins=RP.origins
)
_GET_CHALLENGE = secrets.token_bytes(32)
_GET = _AUTH.get(pk.authentication_options(rp=RP, challenge=_GET_CHALLENGE, allow=[]), origin=ORIGIN)


def _corrupt(value: str, index: int, byte: int) -> str:
    raw = bytearray(pk.b64u_decode(value))
    raw[index % len(raw)] ^= byte or 1
    return pk.b64u(bytes(raw))


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(["attestationObject", "clientDataJSON"]), index=st.integers(0, 400), byte=st.integers(0, 255)
)
def test_corrupted_registration_is_refused(field: str, index: int, byte: int) -> None:
    cred = {**_REG, "response": {**_REG["response"], field: _corrupt(_REG["response"][field], index, byte)}}
    try:
        pk.verify_registration(
            credential=cred, expected_challenge=_REG_CHALLENGE, expected_rp_id=RP.id, expected_origins=RP.origins
        )
    except (PasskeyInvalidError, InvalidRequestError):
        return
    # A flip inside a part that is not checked (e.g. the AAGUID) may still verify; that is fine.


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(["authenticatorData", "clientDataJSON", "signature"]),
    index=st.integers(0, 200),
    byte=st.integers(0, 255),
)
def test_corrupted_assertion_is_refused(field: str, index: int, byte: int) -> None:
    cred = {**_GET, "response": {**_GET["response"], field: _corrupt(_GET["response"][field], index, byte)}}
    with pytest.raises((PasskeyInvalidError, InvalidRequestError)):
        pk.verify_authentication(
            credential=cred,
            expected_challenge=_GET_CHALLENGE,
            expected_rp_id=RP.id,
            expected_origins=RP.origins,
            credential_public_key=_PASSKEY.public_key,
            stored_sign_count=0,
        )
