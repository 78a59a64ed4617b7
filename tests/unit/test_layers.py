"""Import rules (STYLE §12, docs/ARCHITECTURE.md "Import rules"): the layers, the areas of
``services/``, and no reaching into another module's private names."""

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
    # The web layer talks to services only (api/errors.py maps the driver's DataError, so sqlalchemy
    # itself is allowed there); routers parse, call one service and respond.
    "api": ("alembic", "actionmfa.store"),
    "api/routers": ("sqlalchemy", "alembic", "actionmfa.store", "actionmfa.store.repos"),
}

# Services reach storage through the unit of work their area's ports describe; only the composition
# root (the container and the runtime, which build the Database) names the store.
SERVICES_STORAGE = ("sqlalchemy", "alembic", "actionmfa.store")
COMPOSITION_ROOT = {"services/container.py", "services/runtime.py"}

# Which areas of services/ each area may import (besides itself). No cycles: core sees no area;
# sign-in and passkeys build on the MFA core; the operator acts on every area it administers.
AREAS: dict[str, set[str]] = {
    "core": set(),
    "mfa": {"core"},
    "signin": {"core", "mfa"},
    "passkeys": {"core", "mfa"},
    "wallets": {"core"},
    "operator": {"core", "mfa", "passkeys", "wallets"},
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _all_modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _cases() -> list[tuple[str, Path]]:
    return [(layer, p) for layer in FORBIDDEN for p in sorted((SRC / layer).rglob("*.py"))]


def _banned(names: list[str], banned: tuple[str, ...]) -> list[str]:
    return [name for name in names for b in banned if name == b or name.startswith(b + ".")]


@pytest.mark.parametrize(("layer", "path"), _cases(), ids=lambda v: v if isinstance(v, str) else _rel(v))
def test_layer_imports(layer: str, path: Path) -> None:
    bad = _banned(_imports(path), FORBIDDEN[layer])
    assert not bad, f"{_rel(path)} ({layer}) imports {bad}"


@pytest.mark.parametrize("path", sorted((SRC / "services").rglob("*.py")), ids=_rel)
def test_services_reach_storage_through_ports(path: Path) -> None:
    if _rel(path) in COMPOSITION_ROOT:
        return
    bad = _banned(_imports(path), SERVICES_STORAGE)
    assert not bad, f"{_rel(path)} imports {bad}: declare what it needs in its area's ports.py"


@pytest.mark.parametrize("path", sorted((SRC / "services").glob("*/*.py")), ids=_rel)
def test_areas_import_only_the_areas_below_them(path: Path) -> None:
    area = path.parent.name
    assert area in AREAS, f"services/{area}/ is a new area: add it to AREAS (and to docs/ARCHITECTURE.md)"
    used = {
        name.split(".")[2]
        for name in _imports(path)
        if name.startswith("actionmfa.services.") and len(name.split(".")) > 2
    }
    bad = used - AREAS[area] - {area}
    assert not bad, f"{_rel(path)} (area {area}) imports the areas {sorted(bad)}"


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("actionmfa"):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_") and
                      not a.name.startswith("__")]
    return found


@pytest.mark.parametrize("path", _all_modules(), ids=_rel)
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    bad = _private_imports(path)
    assert not bad, f"{_rel(path)} imports private names {bad}: make them public where they are defined"


def _foreign_private_attributes(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls``: one object reaching into another's insides."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            found.append(ast.unparse(node))
    return found


# The wallet engine and the wallet SDK too (issue 9.9: no module calls another's private members).
WALLET_SDK = [SRC / "sdk" / name for name in ("wallets.py", "share_store.py", "delegated.py")]


@pytest.mark.parametrize("path", sorted([*(SRC / "services").rglob("*.py"), *(SRC / "api").rglob("*.py"),
                                         *(SRC / "wallet").rglob("*.py"), *WALLET_SDK]), ids=_rel)
def test_services_and_routers_use_no_private_members_of_other_objects(path: Path) -> None:
    bad = _foreign_private_attributes(path)
    assert not bad, f"{_rel(path)} uses private members {bad}"
