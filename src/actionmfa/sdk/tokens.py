"""Client-side store of MFA and elevated-access tokens: "the token is applied automatically".

After an MFA authentication the SDK keeps what it minted; the next gated call gets the headers:
an elevated token whose scope covers the call wins, else the MFA token (DESIGN §5). Single-use
tokens are dropped once a call carried them (the server spends them whether or not the action
then succeeds only when it succeeds, but a refused token is useless anyway).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import jwt as pyjwt

from actionmfa.domain.actions import ELEVATED_TOKEN_HEADER, MFA_TOKEN_HEADER, MFAAction, scopes_covering


@dataclass(frozen=True)
class StoredToken:
    value: str
    single_use: bool
    scopes: frozenset[str] = frozenset()
    expires_at: float | None = None  # unix seconds

    def live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


def covering_scopes(scope: str) -> tuple[str, ...]:
    """The stored scopes whose token a call of ``scope`` may carry: ``wallet:refresh`` and
    ``wallet:reshare`` calls also take Dynamic's ``wallet:delegate`` (as the server does)."""
    for action in MFAAction:
        covering = tuple(s.value for s in scopes_covering(action))
        if covering[0] == scope:
            return covering
    return (scope,)


class TokenStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mfa_token: StoredToken | None = None
        self.elevated: list[StoredToken] = []

    def set_mfa_token(self, value: str, *, single_use: bool) -> None:
        with self._lock:
            self.mfa_token = StoredToken(value=value, single_use=single_use)

    def add_elevated(self, value: str) -> StoredToken:
        """Store an elevated token; its scope, lifetime and behaviour are read from its claims
        (unverified: the server is the one that verifies, the client only sorts)."""
        claims = pyjwt.decode(value, options={"verify_signature": False})
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split() if isinstance(scope, str) else scope)
        token = StoredToken(
            value=value,
            single_use=bool(claims.get("singleUse", True)),
            scopes=scopes,
            expires_at=float(claims["exp"]) if "exp" in claims else None,
        )
        with self._lock:
            self.elevated = [t for t in self.elevated if not (t.scopes & scopes)] + [token]
        return token

    def get_mfa_token(self) -> str | None:
        with self._lock:
            return self.mfa_token.value if self.mfa_token else None

    def select(self, *, scope: str | None, include_mfa_token: bool) -> tuple[dict[str, str], list[StoredToken]]:
        """Headers for a call, and the tokens they carry (to drop if single-use)."""
        now = time.time()
        headers: dict[str, str] = {}
        used: list[StoredToken] = []
        with self._lock:
            self.elevated = [t for t in self.elevated if t.live(now)]
            if scope is not None:
                covering = set(covering_scopes(scope))
                for token in self.elevated:
                    if token.scopes & covering:
                        headers[ELEVATED_TOKEN_HEADER] = token.value
                        used.append(token)
                        break
            # An elevated token that covers the call wins; the MFA token is then kept for later
            # (sending both would make the client drop a single-use MFA token the server never spent).
            if include_mfa_token and self.mfa_token is not None and not used:
                headers[MFA_TOKEN_HEADER] = self.mfa_token.value
                used.append(self.mfa_token)
        return headers, used

    def spent(self, tokens: list[StoredToken]) -> None:
        with self._lock:
            for token in tokens:
                if not token.single_use:
                    continue
                if self.mfa_token is token:
                    self.mfa_token = None
                self.elevated = [t for t in self.elevated if t is not token]

    def clear(self) -> None:
        with self._lock:
            self.mfa_token = None
            self.elevated = []
