"""``actionmfa audit verify`` and the dashboard's chain line: check the audit log's keyed hash chain.

The rules are :func:`actionmfa.domain.audit_chain.verify_chain`; this reads each chain in one read
transaction (a consistent snapshot on PostgreSQL; SQLite readers see one snapshot per transaction
too, in WAL mode) and hands the rows over a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmfa.crypto import Keyring
from actionmfa.domain.audit_chain import KEY_PURPOSE, ChainReport, verify_chain
from actionmfa.services.core.ports import Transactions
from actionmfa.services.operator.ports import AuditChainUnit

DASHBOARD_MAX_ROWS = 20_000  # longer chains: the dashboard says to run `actionmfa audit verify`


@dataclass(frozen=True, slots=True)
class ChainState:
    checked: bool
    intact: bool | None
    rows: int
    findings: list[str]
    legacy_rows: int = 0
    more_findings: int = 0


class AuditChain:
    def __init__(self, db: Transactions[AuditChainUnit], keyring: Keyring) -> None:
        self.db = db
        self._key = keyring.subkey(KEY_PURPOSE)

    def chains(self) -> list[str]:
        with self.db.read() as uow:
            return uow.audit.chains()

    def verify(self, chain: str) -> ChainReport:
        """Check one chain (an environment id, or ``""`` for rows without one)."""
        with self.db.read() as uow:
            head = uow.audit.head(chain)
            return verify_chain(self._key, chain, uow.audit.chained_rows(chain), head)

    def verify_all(self) -> list[ChainReport]:
        return [self.verify(chain) for chain in self.chains()]

    def state(self, chain: str, *, max_rows: int = DASHBOARD_MAX_ROWS) -> ChainState:
        """The dashboard's line: checked when the chain is short enough to check on a page view."""
        with self.db.read() as uow:
            head = uow.audit.head(chain)
        if head is not None and head[0] > max_rows:
            return ChainState(checked=False, intact=None, rows=head[0], findings=[])
        report = self.verify(chain)
        return ChainState(
            checked=True,
            intact=report.intact,
            rows=report.rows,
            findings=[f.detail for f in report.findings[:5]],
            legacy_rows=report.legacy_rows,
            more_findings=max(0, len(report.findings) - 5),
        )
