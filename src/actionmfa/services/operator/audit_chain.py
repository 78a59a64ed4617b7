"""``actionmfa audit verify`` and the dashboard's chain line: check the audit log's keyed hash chains.

The rules are :func:`actionmfa.domain.audit_chain.verify_environment`: an environment's log is one
chain per shard, all read in one pass in one read transaction (a consistent snapshot on PostgreSQL;
SQLite readers see one snapshot per transaction too, in WAL mode), a page at a time. Reports are per
environment — intact iff every shard is — with the findings naming their shard.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmfa.crypto import Keyring
from actionmfa.domain.audit_chain import KEY_PURPOSE, Anchor, EnvironmentReport, verify_environment
from actionmfa.services.core.ports import Transactions
from actionmfa.services.operator.ports import AuditChainUnit

DASHBOARD_MAX_ROWS = 20_000  # longer logs (all shards together): the dashboard says to run `actionmfa audit verify`


@dataclass(frozen=True, slots=True)
class ChainState:
    checked: bool
    intact: bool | None
    rows: int
    findings: list[str]
    legacy_rows: int = 0
    more_findings: int = 0
    shards: int = 1  # the environment's shards that hold rows (the line speaks for them all)


class AuditChain:
    def __init__(self, db: Transactions[AuditChainUnit], keyring: Keyring) -> None:
        self.db = db
        self._key = keyring.subkey(KEY_PURPOSE)

    def chains(self) -> list[str]:
        with self.db.read() as uow:
            return uow.audit.chains()

    def verify(self, chain: str, *, anchor: Anchor | None = None) -> EnvironmentReport:
        """Check one environment's chains (an environment id, or ``""`` for rows without one);
        with ``anchor``, also that the chains still pass through that recorded anchor."""
        with self.db.read() as uow:
            heads = uow.audit.heads(chain)
            return verify_environment(self._key, chain, uow.audit.chained_rows(chain), heads, anchor=anchor)

    def verify_all(self) -> list[EnvironmentReport]:
        return [self.verify(chain) for chain in self.chains()]

    def state(self, chain: str, *, max_rows: int = DASHBOARD_MAX_ROWS) -> ChainState:
        """The dashboard's line: checked when the environment's log (every shard) is short enough
        to check on a page view."""
        with self.db.read() as uow:
            heads = uow.audit.heads(chain)
        total = sum(seq for seq, _ in heads.values())
        if total > max_rows:
            return ChainState(checked=False, intact=None, rows=total, findings=[], shards=len(heads))
        report = self.verify(chain)
        findings = report.findings
        return ChainState(
            checked=True,
            intact=report.intact,
            rows=report.rows,
            findings=[f.detail for f in findings[:5]],
            legacy_rows=report.legacy_rows,
            more_findings=max(0, len(findings) - 5),
            shards=len(report.heads),
        )
