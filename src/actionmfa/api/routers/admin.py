"""Operator API (``Authorization: Bearer <admin token>``), prefix ``/api/v0``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, WithJsonSchema

from actionmfa.api.deps import AdminDep, OperatorDep
from actionmfa.api.responses import ADMIN
from actionmfa.api.schemas import UserRecord, WireModel
from actionmfa.domain.models import Environment
from actionmfa.domain.settings import EnvironmentSettings

router = APIRouter(tags=["admin"], responses=ADMIN)

# A settings document or a partial one (PUT merges what it is given): the shape of
# EnvironmentSettings (each field optional, no other field allowed). The domain checks the rest —
# keys that parse, URLs it may fetch, origins under the rp id — and names the field it refuses.
SettingsDocument = Annotated[dict[str, Any], WithJsonSchema({"$ref": "#/components/schemas/EnvironmentSettings"})]


class EnvironmentOut(BaseModel):
    id: str
    name: str
    settings: EnvironmentSettings
    createdAt: str
    updatedAt: str

    @classmethod
    def of(cls, env: Environment) -> EnvironmentOut:
        return cls(
            id=env.id,
            name=env.name,
            settings=env.settings,
            createdAt=env.created_at.isoformat(),
            updatedAt=env.updated_at.isoformat(),
        )


class EnvironmentCreate(WireModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    settings: SettingsDocument | None = None


class EnvironmentCreated(BaseModel):
    environmentId: str
    adminToken: str
    environment: EnvironmentOut


class EnvironmentUpdate(WireModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    settings: SettingsDocument | None = None


class AdminTokenOut(BaseModel):
    adminToken: str


class UserList(BaseModel):
    users: list[UserRecord]
    count: int
    nextCursor: str | None = None


@router.post("/environments", response_model=EnvironmentCreated, status_code=201, operation_id="createEnvironment")
def create_environment(body: EnvironmentCreate, admin: AdminDep, operator: OperatorDep) -> EnvironmentCreated:
    created = operator.environments.create(admin, name=body.name, settings=body.settings)
    return EnvironmentCreated(
        environmentId=created.environment.id,
        adminToken=created.admin_token,
        environment=EnvironmentOut.of(created.environment),
    )


@router.get("/environments/{environmentId}", response_model=EnvironmentOut, operation_id="getEnvironment")
def get_environment(environmentId: str, admin: AdminDep, operator: OperatorDep) -> EnvironmentOut:
    return EnvironmentOut.of(operator.environments.get(admin, environmentId))


@router.put("/environments/{environmentId}", response_model=EnvironmentOut, operation_id="updateProjectSettings")
def update_environment(
    environmentId: str,
    body: EnvironmentUpdate,
    admin: AdminDep,
    operator: OperatorDep,
) -> EnvironmentOut:
    env = operator.environments.update(admin, environmentId, name=body.name, settings_patch=body.settings)
    return EnvironmentOut.of(env)


@router.post("/environments/{environmentId}/adminToken/rotate", response_model=AdminTokenOut,
             operation_id="rotateAdminToken")
def rotate_admin_token(environmentId: str, admin: AdminDep, operator: OperatorDep) -> AdminTokenOut:
    return AdminTokenOut(adminToken=operator.environments.rotate_admin_token(admin, environmentId))


@router.get("/environments/{environmentId}/users", response_model=UserList, operation_id="getEnvironmentUsers")
def list_users(
    environmentId: str,
    admin: AdminDep,
    operator: OperatorDep,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=36),
) -> UserList:
    users = operator.environments.users(admin, environmentId, limit=limit, cursor=cursor)
    return UserList(
        users=[UserRecord.of(u) for u in users],
        count=len(users),
        nextCursor=users[-1].id if len(users) == limit else None,
    )
