"""People and how to reach them. A contact may be a party to several cases; calls and SMS match
contacts by their contact points (E.164 numbers, lower-cased email addresses)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactPoint(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contactpoint_kind_value"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kind: str = Field(max_length=8)  # email | phone
    value: str = Field(max_length=320, index=True)  # normalised: lower-case address or E.164
    undeliverable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undeliverable_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Party(SQLModel, table=True):
    """A contact's part in one case."""

    __table_args__ = (UniqueConstraint("case_id", "contact_id", "role", name="uq_party_case_contact_role"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    role: str = Field(max_length=32)  # referrer, parent, young_person, professional, la_officer, mediator
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
