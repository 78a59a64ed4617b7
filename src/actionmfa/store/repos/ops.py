"""Counts the operator's gauges read at scrape time (``/metrics``): cheap aggregate queries only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from actionmfa.store.repos.webhooks import PENDING
from actionmfa.store.wallet_tables import waas_ceremonies
from actionmfa.store.webhook_tables import webhook_outbox


class OpsRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def open_ceremonies(self, now: datetime) -> int:
        """Wallet ceremonies neither completed nor expired (``ix_waas_ceremonies_expires``)."""
        q = select(func.count()).where(waas_ceremonies.c.expires_at > now, waas_ceremonies.c.completed_at.is_(None))
        return int(self.conn.execute(q).scalar_one())

    def webhook_backlog(self) -> int:
        """Webhook deliveries still to be made: outbox rows pending (``ix_webhook_outbox_due``)."""
        q = select(func.count()).where(webhook_outbox.c.status == PENDING)
        return int(self.conn.execute(q).scalar_one())
