from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from omnicanal.access.rules import Permission, Role

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$",
                             examples=["lea.martin@maison-lumiere.demo"])]
Password = Annotated[SecretStr, Field(min_length=12, max_length=500, description="At least 12 characters.")]
LOCATIONS_DOC = "Store roles: the store(s) they work in (required). Other roles: none."
CHANNEL_DOC = "Integration keys: the channel they speak for (required). Other roles: none."


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["web shop"])
    role: Role
    locations: list[Code] = Field(default_factory=list, max_length=100, description=LOCATIONS_DOC)
    channel: Code | None = Field(default=None, description=CHANNEL_DOC)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    locations: list[str]
    channel: str | None
    created_at: datetime
    revoked_at: datetime | None


class IssuedKeyOut(ApiKeyOut):
    token: str = Field(description="Shown this once; only a hash is kept.")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: str = Field(min_length=1, max_length=200, examples=["Léa Martin"])
    role: Role
    password: Password
    locations: list[Code] = Field(default_factory=list, max_length=100, description=LOCATIONS_DOC)
    channel: Code | None = Field(default=None, description=CHANNEL_DOC)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = Field(default=None, description="A new role takes the locations/channel sent with it.")
    locations: list[Code] | None = Field(default=None, max_length=100, description=LOCATIONS_DOC)
    channel: Code | None = Field(default=None, description=CHANNEL_DOC)
    active: bool | None = None
    password: Password | None = None


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    locations: list[str]
    channel: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)
    password: SecretStr = Field(min_length=1, max_length=500)


class SessionOut(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>' until it expires or you sign out.")
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut


class MeOut(BaseModel):
    id: str = Field(description="The user's id, the API key's id, or 'admin-token'.")
    kind: str = Field(description="user | api_key | admin_token")
    name: str
    role: Role
    locations: list[str]
    channel: str | None
    permissions: list[Permission]
    expires_at: datetime | None = Field(description="When a user's session ends; null for keys.")
