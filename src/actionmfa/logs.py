"""Structured logs: one JSON object per line on stderr (``ACTIONMFA_LOG_FORMAT=json``, the default of
``actionmfa serve``; ``text`` for a terminal).

Every record has ``ts`` (UTC, ISO 8601), ``level``, ``logger`` and ``msg``; the request middleware
adds ``requestId``, ``method``, ``route`` (the route template, never the raw path or query string,
which can carry ids a caller chose), ``status`` and ``durationMs``. Nothing else is copied from a
request: no header, body, token, code or email (tests/api/test_observability.py signs a user in with
an email code, enrols TOTP, spends MFA tokens and greps the captured log for every one of them).
uvicorn's own access log is turned off (it prints the raw path and query); its error log goes
through this formatter. The one exception is the development mail sink ``--mail-log``, which writes
whole messages, codes included, to the log by design.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actionmfa.config import ServerConfig

REQUEST_FIELDS = ("requestId", "method", "route", "status", "durationMs")
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # ``json.dumps(…, ensure_ascii=False)`` builds one per call


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return _ENCODER.encode(doc)


def log_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` document (also given to uvicorn as ``log_config``)."""
    formatter = {"()": "actionmfa.logs.JsonFormatter"} if fmt == "json" else {
        "format": "%(asctime)s %(levelname)s %(name)s %(message)s"
    }
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "actionmfa": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def metrics_dir_for_workers(config: ServerConfig) -> Path:
    """``--workers N``: give the workers prometheus-client's multiprocess directory (set before they
    start; emptied, since samples of a previous run's processes would be merged in). An operator's
    own ``PROMETHEUS_MULTIPROC_DIR`` is used as it is."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        return Path(given)
    path = config.data_dir / "prometheus"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path
