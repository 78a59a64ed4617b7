"""Import-layer check (STYLE §12): the domain stays free of web and database imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "actionmfa"

FORBIDDEN = {
    "domain": ("fastapi", "starlette", "sqlalchemy", "alembic", "httpx", "actionmfa.api", "actionmfa.store",
               "actionmfa.services", "actionmfa.sdk"),
    "factors": ("fastapi", "starlette", "sqlalchemy", "alembic", "actionmfa.api", "actionmfa.store",
                "actionmfa.services"),
    "wallet": ("fastapi", "starlette", "sqlalchemy", "alembic", "actionmfa.api", "actionmfa.store",
               "actionmfa.services"),
    "services": ("fastapi", "starlette", "actionmfa.api", "actionmfa.sdk"),
    "store": ("fastapi", "starlette", "actionmfa.api", "actionmfa.services", "actionmfa.sdk"),
    "sdk": ("fastapi", "starlette", "sqlalchemy", "actionmfa.api", "actionmfa.store", "actionmfa.services"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _cases() -> list[tuple[str, Path]]:
    return [(layer, p) for layer in FORBIDDEN for p in sorted((SRC / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_layer_imports(layer: str, path: Path) -> None:
    bad = [
        name
        for name in _imports(path)
        for banned in FORBIDDEN[layer]
        if name == banned or name.startswith(banned + ".")
    ]
    assert not bad, f"{path.relative_to(SRC)} ({layer}) imports {bad}"
