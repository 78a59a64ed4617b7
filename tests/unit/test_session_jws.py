"""services/core/jws.py: the session JWT verifier accepts exactly what PyJWT accepts for ES256 with
this server's key, and refuses every other spelling, algorithm, key or shape (issue 15)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from actionmfa.clock import FrozenClock
from actionmfa.crypto import Keyring
from actionmfa.errors import UnauthorizedError
from actionmfa.services.core.jws import split, verify_es256
from actionmfa.services.core.keys import KeyPurpose, SigningKeys
from actionmfa.services.core.sessions import SessionService

KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
PUBLIC = KEY.public_key()
CLAIMS = {"iss": "actionmfa", "sub": "u", "sid": "s", "exp": 4_000_000_000, "environment_id": "e"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token(key: ec.EllipticCurvePrivateKey = KEY, **headers: object) -> str:
    return jwt.encode(CLAIMS, key, algorithm="ES256", headers={"kid": "ses-1", **headers})


def _verify(token: str, key: ec.EllipticCurvePublicKey = PUBLIC) -> dict[str, object] | None:
    jws = split(token)
    return None if jws is None else verify_es256(jws, key)


def test_accepts_what_pyjwt_signs() -> None:
    token = _token()
    jws = split(token)
    assert jws is not None and jws.header == jwt.get_unverified_header(token)
    assert _verify(token) == CLAIMS == jwt.decode(token, KEY.public_key(), algorithms=["ES256"])


def test_refuses_another_key_and_a_tampered_token() -> None:
    token = _token()
    assert _verify(token, OTHER.public_key()) is None
    assert _verify(_token(OTHER)) is None
    head, payload, sig = token.split(".")
    forged = _b64(json.dumps({**CLAIMS, "sub": "admin"}).encode())
    assert _verify(f"{head}.{forged}.{sig}") is None
    flipped = _b64(bytes([base64.urlsafe_b64decode(sig + "==")[0] ^ 1]) + base64.urlsafe_b64decode(sig + "==")[1:])
    assert _verify(f"{head}.{payload}.{flipped}") is None


@pytest.mark.parametrize("alg", ["none", "HS256", "ES384", "RS256", "es256", None])
def test_refuses_any_other_algorithm(alg: object) -> None:
    _head, payload, sig = _token().split(".")
    header = _b64(json.dumps({"alg": alg, "kid": "ses-1", "typ": "JWT"}).encode())
    assert _verify(f"{header}.{payload}.{sig}") is None
    assert _verify(f"{header}.{payload}.") is None


def test_refuses_a_key_on_another_curve() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert _verify(_token(), p384.public_key()) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", "..", 1),  # four parts
        lambda t: t.rsplit(".", 1)[0],  # two parts
        lambda t: t[:10] + "!" + t[11:],  # outside the alphabet
        lambda t: t[:10] + "é" + t[11:],  # not ASCII
        lambda t: t[:10] + "+" + t[11:],  # base64, not base64url
        lambda t: " " + t,
        lambda t: "x" * 9000,
        lambda t: "",
        lambda t: "..",
    ],
)
def test_refuses_malformed_tokens(mangle: object) -> None:
    assert callable(mangle)
    assert _verify(mangle(_token())) is None


def test_refuses_non_canonical_base64() -> None:
    # 64 signature bytes are 86 characters whose last one carries 2 unused bits: set one of them.
    head, payload, sig = _token().split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    assert last & 0b1111 == 0
    other = sig[:-1] + alphabet[last | 1]
    assert base64.urlsafe_b64decode(other + "==") == base64.urlsafe_b64decode(sig + "==")
    assert _verify(f"{head}.{payload}.{other}") is None
    assert _verify(f"{head}.{payload}.{sig}") == CLAIMS


def test_refuses_headers_and_payloads_that_are_not_objects() -> None:
    head, payload, sig = _token().split(".")
    assert split(f"{_b64(b'[1]')}.{payload}.{sig}") is None
    assert split(f"{_b64(b'not json')}.{payload}.{sig}") is None
    assert split(f"{_b64(bytes([0xff, 0xfe]))}.{payload}.{sig}") is None
    deep = _b64(b'{"a":' + b"[" * 1500 + b"]" * 1500 + b"}")
    nested = split(f"{deep}.{payload}.{sig}")  # past the parser's depth in a server thread: no RecursionError
    assert nested is None or verify_es256(nested, PUBLIC) is None
    # A correctly signed array is no claims set either.
    signing_input = f"{head}.{_b64(b'[1,2]')}".encode()
    r, s = decode_dss_signature(KEY.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signed = f"{head}.{_b64(b'[1,2]')}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    assert _verify(signed) is None



class _Keys(SigningKeys):
    """The environment "e"'s session key, as if read from the database once."""

    def __init__(self) -> None:
        super().__init__(Keyring.generate())

    def has_verification_key(self, kid: str) -> bool:
        return kid == "ses-1"

    def cached_verification_key(
        self, kid: str, environment_id: str, purpose: KeyPurpose
    ) -> ec.EllipticCurvePublicKey | None:
        return PUBLIC if (kid, environment_id, purpose) == ("ses-1", "e", KeyPurpose.SESSION) else None


def test_verified_tokens_cached_but_claims_checked_on_every_use() -> None:
    """SessionService keeps the claims of a JWT it verified; a hit skips only the signature check."""
    clock = FrozenClock()
    service = SessionService(_Keys(), clock)
    token = jwt.encode({**CLAIMS, "exp": int(clock.now().timestamp()) + 60}, KEY, algorithm="ES256",
                       headers={"kid": "ses-1"})
    assert service.verify(None, "e", token).session_id == "s"
    assert not service.needs_key("e", token)
    assert service.verify(None, "e", token).user_id == "u"  # from the cache
    with pytest.raises(UnauthorizedError):
        service.verify(None, "other", token)  # another environment: verified afresh, refused
    clock.advance(120)
    with pytest.raises(UnauthorizedError):
        service.verify(None, "e", token)  # expired: the cached claims are checked again
    head, payload, _sig = token.split(".")
    with pytest.raises(UnauthorizedError):
        service.verify(None, "e", f"{head}.{payload}.{_token(OTHER).split('.')[2]}")
