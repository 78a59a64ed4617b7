"""One installer at a time: pytest-xdist workers share the git-ignored install directories
(tests/compat/node_modules, tests/browser/node_modules, tests/openapi/.tools), so the first worker
that needs one installs it under an exclusive lock and the others wait, then find it installed."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def installing(directory: Path) -> Iterator[None]:
    """Hold the machine-wide lock for ``directory`` (check its stamp again once inside)."""
    name = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"actionmfa-install-{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
