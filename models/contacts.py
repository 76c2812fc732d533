"""People and how to reach them. A contact may be a party to several cases; calls and SMS match
contacts by their contact points (E.164 numbers, lower-cased email addresses)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactPoint(SQLModel, table=True):
    """An email address belongs to one contact: it is how a contact is known again. A phone number may
    belong to several (a family centre's line, a shared home number): a number never merges two
    families into one contact, and a call from a shared number matches all of their cases."""

    __table_args__ = (
        UniqueConstraint("contact_id", "kind", "value", name="uq_contactpoint_contact_kind_value"),
        Index(
            "uq_contactpoint_email",
            "value",
            unique=True,
            sqlite_where=text("kind = 'email'"),
            postgresql_where=text("kind = 'email'"),
        ),
    )

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
