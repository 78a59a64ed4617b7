"""Bad input in JSON bodies is a 422 ``invalid_request``, never a 500 (DESIGN §5): lone surrogates
(which no database driver can encode), nesting too deep to parse, bytes that are not UTF-8."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn

Client = TestClient
JSON = {"content-type": "application/json"}


@pytest.fixture
def runtime(runtime_any: Runtime) -> Runtime:
    """SQLite and PostgreSQL: their drivers refuse different things (JSONB refuses ``\\u0000`` too)."""
    return runtime_any


def _post_raw(client: Client, url: str, raw: bytes) -> tuple[int, dict[str, str]]:
    r = client.post(url, content=raw, headers=JSON)
    return r.status_code, r.json()


def test_lone_surrogate_in_email_is_422(app_client: Client, environment: EnvFixture) -> None:
    url = environment.sdk("/emailVerifications/create")
    for raw in (b'{"email": "a\\ud800@x.com"}', b'{"email": "a\\uDFFF@x.com"}', b'{"email": "\\udc00"}'):
        status, body = _post_raw(app_client, url, raw)
        assert (status, body["code"], body.get("field")) == (422, "invalid_request", "body"), raw
    # raw surrogate bytes (CESU-8), which Python's JSON reader lets through as well
    status, body = _post_raw(app_client, url, b'{"email": "a\xed\xa0\x80@x.com"}')
    assert (status, body["code"]) == (422, "invalid_request")


def test_a_paired_surrogate_escape_is_fine(app_client: Client, environment: EnvFixture) -> None:
    r = app_client.post(
        environment.sdk("/emailVerifications/create"), content=b'{"email": "a\\ud83d\\ude00@x.com"}', headers=JSON
    )
    assert r.status_code == 201, r.text  # U+1F600 written as its surrogate pair is valid JSON and Unicode
    r = app_client.post(
        environment.sdk("/emailVerifications/create"), content=b'{"email": "a\\\\ud800@example.com"}', headers=JSON
    )
    assert r.status_code == 201, r.text  # an escaped backslash followed by "ud800" is not a surrogate


def test_lone_surrogate_in_profile_fields_and_keys_is_422(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    url = environment.sdk("/users")
    for raw in (b'{"alias": "\\ud800"}', b'{"metadata": {"k\\udbff": 1}}', b'{"metadata": {"a": ["x", "\\ud800"]}}'):
        r = app_client.put(url, content=raw, headers={**JSON, **signed_in_user.headers})
        assert (r.status_code, r.json()["code"], r.json().get("field")) == (422, "invalid_request", "body"), raw
    r = app_client.put(url, content=b'{"alias": "ok \\u00e9"}', headers={**JSON, **signed_in_user.headers})
    assert r.status_code == 200 and r.json()["user"]["alias"] == "ok \u00e9"


def test_deeply_nested_json_is_422(app_client: Client, environment: EnvFixture, signed_in_user: SignedIn) -> None:
    url = environment.sdk("/emailVerifications/create")
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 40_000 + b"1" + b"}" * 40_000, b"[" * 100_000):
        status, body = _post_raw(app_client, url, raw)
        assert (status, body["code"], body.get("field")) == (422, "invalid_request", "body")
    # deep enough to parse but not to store: refused as well, on a route that keeps arbitrary JSON
    raw = b'{"metadata": {"a": ' + b"[" * 500 + b"]" * 500 + b"}}"
    r = app_client.put(environment.sdk("/users"), content=raw, headers={**JSON, **signed_in_user.headers})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_request")


def test_body_that_is_not_utf8_is_422(app_client: Client, environment: EnvFixture) -> None:
    status, body = _post_raw(app_client, environment.sdk("/emailVerifications/create"), b'{"email": "\xff\xfe@x"}')
    assert (status, body["code"], body.get("field")) == (422, "invalid_request", "body")


def test_unreadable_number_is_422(app_client: Client, environment: EnvFixture) -> None:
    raw = b'{"email": 1' + b"0" * 5000 + b"}"  # beyond Python's integer digit limit: a ValueError
    status, body = _post_raw(app_client, environment.sdk("/emailVerifications/create"), raw)
    assert (status, body["code"], body.get("field")) == (422, "invalid_request", "body")


def test_non_finite_numbers_are_422(app_client: Client, environment: EnvFixture, signed_in_user: SignedIn) -> None:
    """NaN, Infinity and 1e400 (→ inf) are not JSON; PostgreSQL's json type refuses them (a 500 before)."""
    headers = {**JSON, **signed_in_user.headers}
    for number in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-2E999"):
        raw = b'{"metadata": {"": ' + number + b"}}"
        r = app_client.put(environment.sdk("/users"), content=raw, headers=headers)
        assert (r.status_code, r.json()["code"], r.json().get("field")) == (422, "invalid_request", "body"), number
    # a string that merely spells them, and ordinary exponents, are fine
    raw = b'{"metadata": {"Infinity": "NaN 1e400", "x": 1.5e3}}'
    r = app_client.put(environment.sdk("/users"), content=raw, headers=headers)
    assert r.status_code == 200, r.text


_TEXT = st.text(  # any character, with lone surrogates and JSON's own punctuation made common
    alphabet=st.one_of(st.characters(codec=None), st.characters(categories=["Cs"]), st.sampled_from('"\\[]{}')),
    max_size=12,
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=10,
)


def test_arbitrary_json_ish_bodies_never_500(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    url = environment.sdk("/users")
    headers = {**JSON, **signed_in_user.headers}

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        raw=st.one_of(
            st.builds(lambda fields: json.dumps(fields).encode(), st.dictionaries(
                st.sampled_from(["alias", "firstName", "lastName", "metadata", "mfaBackupCodeAcknowledgement"]),
                _JSON_VALUES, max_size=3,
            )),
            st.builds(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"), _JSON_VALUES),
            st.builds(lambda t: t.encode("utf-8", "surrogatepass"), _TEXT),
            st.binary(max_size=40),
            st.builds(lambda n, o, c: (o * n + c * n).encode(), st.integers(0, 3000),
                      st.sampled_from(["[", '{"a":', '{"metadata":{"a":']), st.sampled_from(["]", "}"])),
        )
    )
    def run(raw: bytes) -> None:
        r = app_client.put(url, content=raw, headers=headers)
        assert r.status_code < 500, (raw[:80], r.status_code, r.text[:200])
        assert set(r.json()) >= {"error", "code"} or r.status_code == 200

    run()


def test_nul_characters_are_422_not_500_on_either_database(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    """PostgreSQL refuses text holding U+0000 (in a path, a query, a JSON string); SQLite stores it."""
    h = {**JSON, **signed_in_user.headers}
    answers = [
        app_client.put(environment.sdk("/users"), content=b'{"alias": "a\\u0000b"}', headers=h),
        app_client.post(
            environment.sdk("/emailVerifications/create"), content=b'{"email": "a\\u0000@x.com"}', headers=JSON
        ),
        app_client.post(
            environment.sdk("/emailVerifications/signin"),
            content=b'{"verificationUUID": "\\u0000", "verificationToken": "123456"}',
            headers=JSON,
        ),
        app_client.get(environment.sdk("/users/mfa/%00"), headers=h),
        app_client.get(environment.sdk("/users/mfa/register/totp/qr?deviceId=%00"), headers=h),
        app_client.get("/api/v0/sdk/%00/settings"),
    ]
    for r in answers:
        assert r.status_code < 500 and r.json().get("code") != "internal_error", (r.request.url, r.text)
        if runtime.db.dialect == "postgresql":
            assert (r.status_code, r.json()["code"]) == (422, "invalid_request"), (r.request.url, r.text)
