"""The SDK's typed surface: ``AsyncClient`` mirrors ``Client``, every error is importable, mypy --strict."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import actionmfa.errors as server_errors
import actionmfa.sdk.errors as sdk_errors
from actionmfa.sdk import async_client as a
from actionmfa.sdk.auth import AuthResource, EmailAuth, ExternalAuth
from actionmfa.sdk.client import Client
from actionmfa.sdk.mfa import MfaResource
from actionmfa.sdk.passkeys import PasskeysResource
from actionmfa.sdk.step_up import StepUpResource
from actionmfa.sdk.ui import MfaPrompt, UiResource
from actionmfa.sdk.users import UsersResource
from actionmfa.sdk.wallets import Wallet, WalletsResource

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    (Client, a.AsyncClient),
    (AuthResource, a.AsyncAuthResource),
    (EmailAuth, a.AsyncEmailAuth),
    (ExternalAuth, a.AsyncExternalAuth),
    (UsersResource, a.AsyncUsersResource),
    (MfaResource, a.AsyncMfaResource),
    (StepUpResource, a.AsyncStepUpResource),
    (PasskeysResource, a.AsyncPasskeysResource),
    (Wallet, a.AsyncWallet),
    (WalletsResource, a.AsyncWalletsResource),
    (UiResource, a.AsyncUiResource),
    (MfaPrompt, a.AsyncMfaPrompt),
]
# Sync-only by nature: closing (``aclose`` instead) and the wallet resource's back-reference.
SYNC_ONLY = {(Client, "close"), (WalletsResource, "client"), (WalletsResource, "store"),
             (WalletsResource, "min_modulus_bits"), (WalletsResource, "precompute")}


def public_names(cls: type, instance_attrs: tuple[str, ...] = ()) -> set[str]:
    names = {n for n in dir(cls) if not n.startswith("_")} | set(instance_attrs)
    return {n for n in names if (cls, n) not in SYNC_ONLY}


INSTANCE_ATTRS: dict[type, tuple[str, ...]] = {
    Client: ("environment_id", "base_url", "session", "tokens", "max_retries", "refresh_margin_seconds"),
    EmailAuth: ("verification_uuid",),
    AuthResource: ("email", "external"),
    Wallet: ("id", "address", "chain", "locked", "key_version", "key_ceremony_id", "pending_action",
             "threshold_scheme", "pregenerated"),
}
ASYNC_ONLY = {"sync", "aclose"}
SYNC_STATE = {"max_retries", "refresh_margin_seconds"}  # tuning of the sync client: client.sync.…


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS, ids=lambda c: c.__name__)
def test_async_twin_has_every_public_member(sync_cls: type, async_cls: type) -> None:
    expected = public_names(sync_cls, INSTANCE_ATTRS.get(sync_cls, ())) - SYNC_STATE
    present = {n for n in dir(async_cls) if not n.startswith("_")} - ASYNC_ONLY
    assert expected - present == set(), f"{async_cls.__name__} lacks {sorted(expected - present)}"
    assert present - expected == set(), f"{async_cls.__name__} has extra {sorted(present - expected)}"


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS, ids=lambda c: c.__name__)
def test_async_methods_take_the_same_parameters(sync_cls: type, async_cls: type) -> None:
    for name in public_names(sync_cls):
        sync_member = inspect.getattr_static(sync_cls, name, None)
        async_member = inspect.getattr_static(async_cls, name, None)
        if not inspect.isfunction(sync_member):
            continue
        if isinstance(async_member, a._Awaitable):
            assert async_member.wrapped is sync_member, name
            continue
        assert inspect.isfunction(async_member), f"{async_cls.__name__}.{name}"
        assert inspect.signature(async_member).parameters.keys() == inspect.signature(sync_member).parameters.keys()


def test_every_error_class_is_importable_from_sdk_errors() -> None:
    defined = {
        name
        for name, value in vars(server_errors).items()
        if isinstance(value, type) and issubclass(value, server_errors.ActionMFAError)
    }
    missing = {name for name in defined if getattr(sdk_errors, name, None) is not getattr(server_errors, name)}
    assert missing == set(), f"not importable from actionmfa.sdk.errors (add them to errors.__all__): {missing}"
    for name in ("ForbiddenError", "MfaMethodDisabledError", "RecoveryCodesAcknowledgedError", "PasskeyCeremonyError"):
        assert name in sdk_errors.__all__


def test_typed_usage_passes_mypy_strict() -> None:
    from mypy import api

    stdout, stderr, status = api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(Path(__file__).with_name("typed_usage.py"))]
    )
    assert status == 0, stdout + stderr
