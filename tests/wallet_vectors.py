"""The proofs' known-answer vectors (tests/vectors/wallet_proofs.json), built with fixed randomness."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import gmpy2

from actionmfa.wallet.curve import ORDER, base_mul, point_mul, point_to_hex
from actionmfa.wallet.proofs import SchnorrProof
from actionmfa.wallet.transcript import Role, Transcript, session_id
from actionmfa.wallet.zk.piaffg import AffgMask, AffgProof
from actionmfa.wallet.zk.pifac import FacProof
from actionmfa.wallet.zk.pilog import LogProof
from actionmfa.wallet.zk.pimod import ModProof
from actionmfa.wallet.zk.ring import PrmProof
from tests import wallet_keys
from tests.wallet_rand import fixed_rand

SID = session_id("kat", wallet_id="wallet-kat", ceremony_id="ceremony-kat", key_version=1)


def _digest(proof: Any) -> str:
    return hashlib.sha256(json.dumps(proof.to_json(), sort_keys=True).encode()).hexdigest()


def _scalar(label: str) -> int:
    return int.from_bytes(hashlib.sha512(label.encode()).digest(), "big") % (ORDER - 1) + 1


def proofs() -> dict[str, Any]:
    """Every proof, made with fixed randomness; also returns what verification needs."""
    prepared = wallet_keys.server_keys()[0]
    key, pk = prepared.key, prepared.key.public
    client = wallet_keys.client_ring_secret(0)
    out: dict[str, Any] = {}

    x = _scalar("schnorr-x")
    out["schnorr"] = SchnorrProof.prove(SID, x, base_mul(x), role=Role.CLIENT, nonce=_scalar("schnorr-k"))

    w = next(v for v in range(2, 1000) if gmpy2.jacobi(v, key.n) == -1)
    out["pimod"] = ModProof.prove(key, Transcript(b"pimod/v2", SID, Role.SERVER), w=w)
    out["piprm"] = PrmProof.prove(client, Transcript(b"piprm/v2", SID, Role.CLIENT), rand=fixed_rand("piprm"))
    out["pifac"] = FacProof.prove(key, client.public, Transcript(b"pifac/v2", SID, Role.SERVER),
                                  rand=fixed_rand("pifac"))

    rand = fixed_rand("pilog-inputs")
    x1, rho, r = _scalar("x1"), rand(pk.n - 1) + 1, rand(pk.n - 1) + 1
    ckey = int((1 + x1 * pk.n) * gmpy2.powmod(rho, pk.n, pk.n_squared) % pk.n_squared)
    out["pilog"] = LogProof.prove(pk, client.public, Transcript(b"pilog/v2", SID, Role.SERVER), c=ckey,
                                  x_point=base_mul(x1), g=base_mul(1), x=x1, rho=rho, r=r, rand=fixed_rand("pilog"))
    out["_ckey"] = ckey

    rand = fixed_rand("piaffg-inputs")
    k2, b = _scalar("k2"), _scalar("b")
    y = rand(1 << 1152)
    rho_y, mask_r = rand(pk.n - 1) + 1, rand(pk.n - 1) + 1
    d = int(gmpy2.powmod(ckey, b, pk.n_squared) * (1 + y * pk.n) * gmpy2.powmod(rho_y, pk.n, pk.n_squared)
            % pk.n_squared)
    r2 = base_mul(k2)
    pair = (mask_r, int(gmpy2.powmod(mask_r, pk.n, pk.n_squared)))
    mask = AffgMask.make(pk, prepared.ring.public, ckey, pair=pair, rand=fixed_rand("piaffg"))
    out["piaffg"] = AffgProof.prove(pk, prepared.ring.public, Transcript(b"piaffg/v2", SID, Role.CLIENT), c=ckey,
                                    d=d, base=r2, x_pt=point_mul(r2, b), y_pt=point_mul(r2, y), x=b, y=y,
                                    rho=rho_y, mask=mask)
    out["_affg"] = {"d": d, "R2": r2, "X": point_mul(r2, b), "Y": point_mul(r2, y)}
    return out


def build_vectors() -> dict[str, Any]:
    made = proofs()
    vectors: dict[str, Any] = {
        "sessionId": SID.hex(),
        "serverKey": "wallet_keys.json serverKeys[0]",
        "clientRing": "wallet_keys.json clientRings[0]",
    }
    for name in ("schnorr", "pimod", "piprm", "pifac", "pilog", "piaffg"):
        entry: dict[str, Any] = {"sha256": _digest(made[name])}
        if name not in ("pimod", "piprm"):  # 128-round proofs: the digest only (90 KB each)
            entry["proof"] = made[name].to_json()
        vectors[name] = entry
    vectors["pilog"]["ckey"] = hex(made["_ckey"])
    vectors["piaffg"]["R2"] = point_to_hex(made["_affg"]["R2"])
    return vectors
