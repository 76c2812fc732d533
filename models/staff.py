"""Staff who log in, and the audit trail of who viewed or changed what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class StaffUser(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    name: str = Field(max_length=200)
    password_hash: str
    role: str = Field(default="coordinator", max_length=16)  # coordinator | admin
    office: str | None = Field(default=None, max_length=16)  # london | national
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    __table_args__ = (Index("ix_auditevent_entity", "entity", "entity_id", "at"),)  # one case's trail

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=320)  # a staff email, or "system"
    action: str = Field(max_length=64)  # case.opened, case.viewed, message.quarantined, ...
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
