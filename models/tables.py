"""Import every table so SQLModel.metadata is complete (for Alembic and create_all)."""

from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.desk import CaseAttention, LoginAttempt, StaffSession
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage, Suppression
from models.staff import AuditEvent, StaffUser

__all__ = [
    "AuditEvent",
    "Case",
    "CaseAttention",
    "Contact",
    "ContactPoint",
    "InboundMessage",
    "InboxItem",
    "LoginAttempt",
    "OutboxMessage",
    "Party",
    "QuarantineEntry",
    "StaffSession",
    "StaffUser",
    "StoredAttachment",
    "Suppression",
    "TimelineEvent",
]
