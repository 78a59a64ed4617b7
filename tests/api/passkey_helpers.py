"""A signed-in user with a software authenticator, driving the passkey routes over HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from actionmfa.factors.soft_authenticator import ES256, SoftAuthenticator
from tests.conftest import EnvFixture, SignedIn

ORIGIN = "http://localhost:8080"


@dataclass
class PasskeyUser:
    client: TestClient
    env: EnvFixture
    who: SignedIn
    auth: SoftAuthenticator = field(default_factory=SoftAuthenticator)

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.who.headers, **extra}

    def registration_options(self) -> dict[str, Any]:
        r = self.client.get(self.env.sdk("/users/passkeys/register"), headers=self.headers())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def authentication_options(self) -> dict[str, Any]:
        r = self.client.get(self.env.sdk("/users/passkeys/authenticate"), headers=self.headers())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def post_registration(
        self, credential: dict[str, Any], headers: dict[str, str] | None = None, **body: Any
    ) -> Response:
        return self.client.post(
            self.env.sdk("/users/passkeys/register"),
            json={**credential, **body},
            headers=self.headers(**(headers or {})),
        )

    def post_assertion(self, assertion: dict[str, Any], **body: Any) -> Response:
        return self.client.post(
            self.env.sdk("/users/mfa/auth/passkey"), json={**assertion, **body}, headers=self.headers()
        )

    def register(self, *, algorithm: int = ES256, headers: dict[str, str] | None = None, **body: Any) -> Response:
        options = self.registration_options()
        return self.post_registration(self.auth.create(options, origin=ORIGIN, algorithm=algorithm), headers, **body)

    def authenticate(self, **body: Any) -> Response:
        return self.post_assertion(self.auth.get(self.authentication_options(), origin=ORIGIN), **body)

    def passkeys(self) -> list[dict[str, Any]]:
        r = self.client.get(self.env.sdk("/users/passkeys"), headers=self.headers())
        assert r.status_code == 200, r.text
        assert r.json()["count"] == len(r.json()["passkeys"])
        return list(r.json()["passkeys"])

    def delete(self, passkey_id: str, **headers: str) -> Response:
        return self.client.request(
            "DELETE", self.env.sdk("/users/passkeys"), json={"passkeyId": passkey_id}, headers=self.headers(**headers)
        )


def code(r: Response) -> str:
    return str(r.json().get("code"))


def reason(r: Response) -> str:
    return str((r.json().get("payload") or {}).get("reason"))
