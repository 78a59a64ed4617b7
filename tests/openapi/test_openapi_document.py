"""The OpenAPI document is complete: it validates, names every operation readably, gives every
answer a schema, and is the same whether read from ``/openapi.json`` or ``actionmfa openapi``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from typer.testing import CliRunner

from actionmfa.cli import app as cli

METHODS = ("get", "put", "post", "delete", "patch")
READABLE_ID = re.compile(r"^[a-z][A-Za-z0-9]*$")  # camelCase, as Dynamic's SDKApi names its methods


@pytest.fixture
def document(app_client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = app_client.get("/openapi.json").json()
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, op) for path, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


def test_the_document_validates(document: dict[str, Any]) -> None:
    validate(document)


def test_operation_ids_are_readable_and_unique(document: dict[str, Any]) -> None:
    ids = [op.get("operationId", "") for _, _, op in operations(document)]
    unreadable = [i for i in ids if not READABLE_ID.match(i)]
    assert unreadable == [], unreadable
    assert len(set(ids)) == len(ids)


def _named(schema: dict[str, Any]) -> bool:
    """A named model (``$ref``), or a list / union of them: not a free-form ``dict[str, Any]``."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    alternatives = schema.get("anyOf") or schema.get("oneOf") or []
    return bool(alternatives) and all(_named(a) or a.get("type") == "null" for a in alternatives)


def test_every_answer_has_a_named_body_model(document: dict[str, Any]) -> None:
    missing = []
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if status in ("204", "303"):
                continue
            content = response.get("content") or {}
            if not content:
                missing.append(f"{method.upper()} {path} {status}: no body described")
            for media, body in content.items():
                schema = body.get("schema") or {}
                if media == "application/json" and not _named(schema):
                    missing.append(f"{method.upper()} {path} {status}: {schema}")
                elif media != "application/json" and not schema:
                    missing.append(f"{method.upper()} {path} {status} {media}: no schema")
    assert missing == [], "\n".join(missing)


def test_sdk_routes_declare_the_errors_they_answer(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        if not path.startswith("/api/v0/"):
            continue
        declared = set(op["responses"])
        assert {"413", "422"} <= declared, f"{method.upper()} {path}: {sorted(declared)}"
        if op.get("security"):
            assert "401" in declared, f"{method.upper()} {path}: {sorted(declared)}"


def test_cli_prints_the_served_document(document: dict[str, Any]) -> None:
    printed = CliRunner().invoke(cli, ["openapi"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == document
