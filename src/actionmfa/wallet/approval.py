"""What an approval prompt shows: a payload in words a person can check (issue 12, deliverable 3).

:func:`describe` turns a :class:`~actionmfa.wallet.payloads.SignRequest` into an
:class:`ApprovalView` — a title, labelled rows and, where the action is dangerous, a warning:

* transaction (EIP-1559 / EIP-7702): chain, recipient, value in ETH, the call's 4-byte selector and —
  when the caller gives the contract's ABI — the decoded function and arguments, gas and fees, nonce,
  and for a set-code transaction every delegate contract with its chain;
* EIP-712 typed data: the domain (name, version, chain, verifying contract) and the primary type's
  fields, nested fields flattened to ``a.b``;
* EIP-191 message: the text, or the hex of bytes that are not printable text;
* EIP-7702 authorization: the delegate contract and the chain (``0`` = every chain, warned);
* export (:func:`describe_export`): a warning that the full private key leaves the two-party setup;
* Solana payloads: :mod:`actionmfa.wallet.solana.approval` (from frost's :func:`summarize`).

Everything shown is derived from the canonical payload the server signs; ``digest`` is its
``approvalDigest`` (DESIGN §6), which the token minted after the prompt is bound to. Values are
shortened only for display (a row never exceeds :data:`MAX_VALUE_CHARS`); addresses are shown whole,
EIP-55 checksummed, because a shortened address is what address-poisoning attacks rely on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import is_address, to_checksum_address

from actionmfa.wallet.payloads import PayloadKind, SignRequest

__all__ = ["ApprovalView", "describe", "describe_export", "rows_view"]

MAX_ROWS = 40
MAX_VALUE_CHARS = 300
WEI_PER_ETH = Decimal(10) ** 18
WEI_PER_GWEI = Decimal(10) ** 9

CHAINS: dict[int, str] = {
    1: "Ethereum mainnet",
    10: "OP Mainnet",
    56: "BNB Smart Chain",
    137: "Polygon PoS",
    8453: "Base",
    42161: "Arbitrum One",
    17000: "Holesky testnet",
    11155111: "Sepolia testnet",
    31337: "local development chain",
}

# Calls a person should recognise without an ABI (ERC-20); anything else shows its selector.
KNOWN_SELECTORS: dict[str, tuple[str, list[str], list[str]]] = {
    "a9059cbb": ("transfer", ["address", "uint256"], ["to", "amount"]),
    "095ea7b3": ("approve", ["address", "uint256"], ["spender", "amount"]),
    "23b872dd": ("transferFrom", ["address", "address", "uint256"], ["from", "to", "amount"]),
}
UNLIMITED = 2**256 - 1


@dataclass(frozen=True)
class ApprovalView:
    action: str  # the MFA action, e.g. "wallet.waas.sign"
    title: str
    rows: tuple[tuple[str, str], ...] = ()
    warning: str | None = None
    digest: str | None = None  # approvalDigest of the payload (None for export: nothing to bind)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "title": self.title,
            "details": [{"label": label, "value": value} for label, value in self.rows],
            "warning": self.warning,
            "approvalDigest": self.digest,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApprovalView:
        return cls(
            action=str(data["action"]),
            title=str(data["title"]),
            rows=tuple((str(r["label"]), str(r["value"])) for r in data.get("details", [])),
            warning=data.get("warning"),
            digest=data.get("approvalDigest"),
        )


@dataclass
class _Rows:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, value: object) -> None:
        if len(self.items) >= MAX_ROWS:
            if len(self.items) == MAX_ROWS:
                self.items.append(("…", "more fields not shown"))
            return
        text = value if isinstance(value, str) else str(value)
        self.items.append((label, text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"))


def describe(request: SignRequest, *, wallet_id: str, abi: list[dict[str, Any]] | None = None,
             app: str = "") -> ApprovalView:
    """The prompt's view of a signing request for one wallet (validated: raises
    ``InvalidRequestError`` like signing); its digest names the wallet."""
    digest = request.approval_digest(wallet_id=wallet_id)
    request.digest()  # the same validation as the signing route
    rows = _Rows()
    warning: str | None = None
    if request.kind is PayloadKind.TRANSACTION:
        title, warning = _transaction(request.payload, abi, rows)
    elif request.kind is PayloadKind.TYPED_DATA:
        title = _typed_data(request.payload, rows)
    elif request.kind is PayloadKind.MESSAGE:
        title = "Sign a message"
        _message(request.payload, rows)
    else:
        title, warning = _authorization(request.payload, rows)
    return ApprovalView("wallet.waas.sign", _titled(app, title), tuple(rows.items), warning, digest)


def _titled(app: str, title: str) -> str:
    return f"{app}: {title[0].lower()}{title[1:]}" if app else title


def rows_view(
    action: str, title: str, rows: Iterable[tuple[str, object]], *, warning: str | None, digest: str | None,
    app: str = "",
) -> ApprovalView:
    """An :class:`ApprovalView` from rows another chain's describer made (same limits as :func:`describe`)."""
    kept = _Rows()
    for label, value in rows:
        kept.add(label, value)
    return ApprovalView(action, _titled(app, title), tuple(kept.items), warning, digest)


def describe_export(*, app: str = "") -> ApprovalView:
    title = "Export the wallet's private key"
    return ApprovalView(
        "wallet.waas.export",
        _titled(app, title),
        (("Action", "reveal the whole private key to this device"),),
        "Anyone who gets the exported key controls the wallet and its funds, with no second factor. "
        "Approve only if you started the export yourself and will store the key safely.",
        None,
    )


# -- transactions -----------------------------------------------------------------------------------
def chain_name(chain_id: object) -> str:
    if not isinstance(chain_id, int):
        return str(chain_id)
    if chain_id == 0:
        return "any chain (chain id 0)"
    name = CHAINS.get(chain_id)
    return f"{name} (chain {chain_id})" if name else f"chain {chain_id}"


def eth(wei: int) -> str:
    """Exact decimal ETH: 1500000000000000000 → "1.5 ETH"."""
    text = format((Decimal(wei) / WEI_PER_ETH).normalize(), "f")
    return f"{text} ETH"


def gwei(wei: int) -> str:
    return f"{format((Decimal(wei) / WEI_PER_GWEI).normalize(), 'f')} gwei"


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            return None
    return None


def _address(value: object) -> str:
    return to_checksum_address(value) if isinstance(value, str) and is_address(value) else str(value)


def _transaction(tx: dict[str, Any], abi: list[dict[str, Any]] | None, rows: _Rows) -> tuple[str, str | None]:
    tx_type = _int(tx.get("type", 2))
    value = _int(tx.get("value", 0)) or 0
    to = tx.get("to")
    rows.add("Chain", chain_name(tx.get("chainId")))
    rows.add("To", _address(to) if to else "(no recipient: deploys a new contract)")
    rows.add("Value", eth(value))
    data = str(tx.get("data") or tx.get("input") or "0x")
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if len(data) > 2 else b""
    warning: str | None = None
    if raw:
        warning = _call(raw, abi, rows)
    else:
        rows.add("Contract call", "none (a plain transfer)")
    gas = _int(tx.get("gas"))
    max_fee = _int(tx.get("maxFeePerGas"))
    tip = _int(tx.get("maxPriorityFeePerGas"))
    if gas is not None:
        rows.add("Gas limit", f"{gas:,}")
    if max_fee is not None:
        rows.add("Max fee per gas", gwei(max_fee))
    if tip is not None:
        rows.add("Max priority fee", gwei(tip))
    if gas is not None and max_fee is not None:
        rows.add("Most it can cost in fees", eth(gas * max_fee))
    if (nonce := _int(tx.get("nonce"))) is not None:
        rows.add("Nonce", nonce)
    title = f"Send {eth(value)}" if value else "Send a transaction"
    if tx_type == 4:
        title = "Send a set-code transaction (EIP-7702)"
        for i, auth in enumerate(tx.get("authorizationList") or []):
            if isinstance(auth, dict):
                prefix = f"Delegation {i + 1}"
                rows.add(f"{prefix}: delegate contract", _address(auth.get("address")))
                rows.add(f"{prefix}: chain", chain_name(_int(auth.get("chainId"))))
        warning = _join(warning, "This transaction lets the delegate contract act for the signing account.")
    return title, warning


def _call(raw: bytes, abi: list[dict[str, Any]] | None, rows: _Rows) -> str | None:
    selector, args = raw[:4], raw[4:]
    rows.add("Function selector", "0x" + selector.hex())
    for item in abi or []:
        if isinstance(item, dict) and item.get("type", "function") == "function" and "name" in item:
            try:
                types = [str(i["type"]) for i in item.get("inputs", [])]
                if function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})") != selector:
                    continue
                names = [str(i.get("name") or f"arg{n}") for n, i in enumerate(item.get("inputs", []))]
                values = abi_decode(types, args)
            except Exception:  # noqa: S112 - an ABI that does not fit is shown as undecoded
                continue
            rows.add("Function", f"{item['name']}({', '.join(f'{t} {n}' for t, n in zip(types, names, strict=True))})")
            for name, typ, val in zip(names, types, values, strict=True):
                rows.add(f"  {name}", _abi_value(typ, val))
            return None
    known = KNOWN_SELECTORS.get(selector.hex())
    if known is not None:
        name, types, names = known
        decoded: tuple[Any, ...] | None
        try:
            decoded = abi_decode(types, args)
        except Exception:
            decoded = None
        if decoded is not None:
            values = decoded
            rows.add("Function", f"{name}({', '.join(f'{t} {n}' for t, n in zip(types, names, strict=True))}) (ERC-20)")
            for arg, typ, val in zip(names, types, values, strict=True):
                rows.add(f"  {arg}", _abi_value(typ, val))
            if name == "approve" and values[1] == UNLIMITED:
                return "This grants the spender an unlimited allowance over the token."
            return None
    rows.add("Call data", f"{len(args)} bytes of arguments, not decoded (no ABI given)")
    return "The contract call could not be decoded: approve only if you trust the app that asks."


def _abi_value(typ: str, value: Any) -> str:
    if typ == "address":
        return _address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_abi_value(typ.rstrip("[]0123456789"), v) for v in value) + "]"
    return str(value)


def _join(a: str | None, b: str) -> str:
    return f"{a} {b}" if a else b


# -- typed data, messages, authorizations -------------------------------------------------------------
def _typed_data(doc: dict[str, Any], rows: _Rows) -> str:
    domain = doc.get("domain") or {}
    primary = str(doc.get("primaryType", ""))
    for key, label in (("name", "Domain"), ("version", "Version"), ("chainId", "Chain"),
                       ("verifyingContract", "Verifying contract"), ("salt", "Salt")):
        if key in domain:
            value = domain[key]
            rows.add(label, chain_name(_int(value)) if key == "chainId" else _address(value) if key ==
                     "verifyingContract" else value)
    rows.add("Type", primary)
    _fields(doc.get("message") or {}, "", rows)
    return f"Sign typed data: {primary}" if primary else "Sign typed data"


def _fields(value: Any, prefix: str, rows: _Rows) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _fields(v, f"{prefix}.{k}" if prefix else str(k), rows)
    elif isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _fields(v, f"{prefix}[{i}]", rows)
    else:
        rows.add(prefix or "value", _address(value) if isinstance(value, str) and is_address(value) else
                 value if isinstance(value, str) else str(value))


def _message(payload: Any, rows: _Rows) -> None:
    if isinstance(payload, str):
        rows.add("Message", payload)
        return
    raw = bytes.fromhex(str(payload["raw"])[2:])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and text.isprintable():
        rows.add("Message", text)
    else:
        rows.add("Message (hex)", "0x" + raw.hex())
        rows.add("Length", f"{len(raw)} bytes")


def _authorization(auth: dict[str, Any], rows: _Rows) -> tuple[str, str | None]:
    chain_id = _int(auth.get("chainId"))
    rows.add("Delegate contract", _address(auth.get("address")))
    rows.add("Chain", chain_name(chain_id))
    rows.add("Nonce", auth.get("nonce"))
    warning = "The delegate contract's code will run as your account and can move its funds."
    if chain_id == 0:
        warning += " Chain id 0 makes this authorization valid on every chain."
    return "Delegate your account to a contract (EIP-7702)", warning
