"""What sits around a client in real life, served to the Node scripts over loopback HTTP.

Dynamic's client talks to the ActionMFA server directly; everything else a real integration has —
the user's mailbox (a real SMTP sink), the clock their authenticator app reads, their passkey (the
software authenticator), the developer's own identity provider minting JWTs — is answered by this
small JSON server in the test process:

* ``POST /clock/advance {"seconds"}`` → ``{"now"}`` (unix seconds of the server's injected clock);
* ``GET /mail/code?to=EMAIL`` → ``{"code"}`` (the code in the newest mail to that address);
* ``POST /idp/jwt {"sub", "email"?}`` → ``{"jwt"}`` (signed by the key the environment trusts);
* ``POST /passkey/create {"options"}`` / ``POST /passkey/get {"options"}`` → the credential JSON a
  browser would hand to the page (registration with Dynamic's ``clientDataJson`` casing).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from actionmfa.clock import FrozenClock, to_epoch
from actionmfa.factors.soft_authenticator import SoftAuthenticator
from tests.mailsink import SmtpSink

IDP_ISSUER = "https://auth.acme.test"
IDP_AUDIENCE = "acme-app"
PASSKEY_ORIGIN = "http://localhost:8080"


@dataclass
class World:
    clock: FrozenClock
    mail: SmtpSink
    idp_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    authenticator: SoftAuthenticator = field(default_factory=SoftAuthenticator)

    @property
    def idp_public_pem(self) -> str:
        public = self.idp_key.public_key()
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def settings(self) -> dict[str, Any]:
        """The environment this story runs in: both factors on, profile updates gated, the IdP trusted."""
        return {
            "security": {
                "mfa": {
                    "methods": [{"type": "totp", "enabled": True}, {"type": "passkey", "enabled": True}],
                    "actions": [
                        {"action": "user.update", "required": True},
                        {"action": "wallet.waas.sign", "required": True},
                    ],
                },
                "externalAuth": {
                    "enabled": True, "iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "publicKeyPem": self.idp_public_pem,
                },
                "passkeys": {"rpId": "localhost", "rpName": "Acme", "origins": [PASSKEY_ORIGIN]},
            }
        }

    # -- answers --------------------------------------------------------------------------------
    def advance(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"now": to_epoch(self.clock.advance(seconds=float(body.get("seconds", 0))))}

    def mail_code(self, query: dict[str, str]) -> dict[str, Any]:
        to = query["to"].lower()
        mails = [m for m in self.mail.received if to in (r.lower() for r in m.rcpt_tos)]
        if not mails:
            raise LookupError(f"no mail to {to}")
        return {"code": mails[-1].code()}

    def idp_jwt(self, body: dict[str, Any]) -> dict[str, Any]:
        now = to_epoch(self.clock.now())
        claims = {"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": body["sub"], "iat": now, "exp": now + 300}
        if body.get("email"):
            claims["email"] = body["email"]
        return {"jwt": jwt.encode(claims, self.idp_key, algorithm="ES256")}

    def passkey_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.authenticator.create(body["options"], origin=PASSKEY_ORIGIN, client_data_key="clientDataJson")

    def passkey_get(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.authenticator.get(body["options"], origin=PASSKEY_ORIGIN)


class WorldServer:
    """``with WorldServer(world) as url:`` — the answers above on a loopback port."""

    def __init__(self, world: World) -> None:
        routes: dict[tuple[str, str], Callable[[Any], dict[str, Any]]] = {
            ("POST", "/clock/advance"): world.advance,
            ("GET", "/mail/code"): world.mail_code,
            ("POST", "/idp/jwt"): world.idp_jwt,
            ("POST", "/passkey/create"): world.passkey_create,
            ("POST", "/passkey/get"): world.passkey_get,
        }

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                parts = urlsplit(self.path)
                route = routes.get((method, parts.path))
                try:
                    if route is None:
                        raise LookupError(f"no route {method} {parts.path}")
                    if method == "GET":
                        arg: Any = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    else:
                        arg = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                    status, payload = 200, route(arg)
                except Exception as exc:  # the Node script prints it; the test fails there
                    status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
