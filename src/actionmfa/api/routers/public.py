"""Unauthenticated SDK reads: settings and the session-key JWKS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from actionmfa.api.deps import CoreDep
from actionmfa.api.responses import SDK

router = APIRouter(tags=["sdk"], responses=SDK)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsChain(Answer):
    name: str
    enabled: bool


class SettingsGeneral(Answer):
    displayName: str


class SettingsPrivacy(Answer):
    collectIp: bool


class ProjectSettings(Answer):
    """Dynamic's ``ProjectSettings``, filled with what this server does
    (:mod:`actionmfa.domain.project_settings`). ``security`` is the environment's public settings
    (``mfa`` with ``availableMethods``, ``externalAuth``, ``passkeys``, ``jwtDuration``, …; see
    docs/mfa.md), without secrets and without ``null`` values."""

    chains: list[SettingsChain]
    kyc: list[dict[str, Any]]
    design: dict[str, Any]
    general: SettingsGeneral
    privacy: SettingsPrivacy
    sdk: dict[str, Any]
    security: dict[str, Any]


class Jwk(BaseModel):
    """A public session-signing key (RFC 7517); the members depend on the key type."""

    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str


class Jwks(Answer):
    keys: list[Jwk]


@router.get("/settings", operation_id="getEnvironmentSettings")
def get_settings(environmentId: str, core: CoreDep) -> ProjectSettings:
    return ProjectSettings.model_validate(core.directory.public_settings(environmentId))


@router.get("/.well-known/jwks.json", operation_id="getJwksJsonByEnvironmentId")
def get_jwks(environmentId: str, core: CoreDep) -> Jwks:
    return Jwks.model_validate(core.directory.jwks(environmentId))
