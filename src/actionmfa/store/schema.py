"""Import every table module so :data:`actionmfa.store.tables.metadata` is complete."""

from __future__ import annotations

import importlib

from actionmfa.store.tables import metadata

_AREA_MODULES = (
    "actionmfa.store.mfa_tables",
    "actionmfa.store.passkey_tables",
    "actionmfa.store.wallet_tables",
    "actionmfa.store.pregenerated_tables",
    "actionmfa.store.webhook_tables",
)


def load_all() -> None:
    for name in _AREA_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an area not built yet
            if exc.name != name:
                raise


load_all()

__all__ = ["metadata"]
