"""The OpenAPI document is a contract: generated clients are built from it, so it changes only on purpose.

``tests/vectors/openapi.json`` is the document as ``actionmfa openapi`` prints it. A change that alters
the wire contract on purpose regenerates it with:

    .venv/bin/actionmfa openapi > tests/vectors/openapi.json

and the diff of that file is reviewed with the change.
"""

from __future__ import annotations

import json
from pathlib import Path

from actionmfa.api.app import create_app
from actionmfa.services.runtime import Runtime

SNAPSHOT = Path(__file__).resolve().parents[1] / "vectors" / "openapi.json"


def test_openapi_document_is_the_recorded_one(runtime: Runtime) -> None:
    printed = json.dumps(create_app(runtime, migrate=False).openapi(), indent=2) + "\n"
    assert printed == SNAPSHOT.read_text(encoding="utf-8"), (
        "the OpenAPI document changed; if on purpose, run: .venv/bin/actionmfa openapi > tests/vectors/openapi.json"
    )
