"""Import every table so SQLModel.metadata is complete (for Alembic and create_all)."""

from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.desk import CaseAttention, LoginAttempt, StaffSession
from models.mail import InboundMessage, InboundRaw, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage, Suppression
from models.sessions import (
    CaseEvent,
    MediationSession,
    Mediator,
    PendingDeadline,
    SessionAttendee,
    SessionMediator,
)
from models.staff import AuditEvent, StaffUser
from models.telephony import Call, CallbackTask, SmsMessage

__all__ = [
    "AuditEvent",
    "Call",
    "CallbackTask",
    "Case",
    "CaseAttention",
    "CaseEvent",
    "Contact",
    "ContactPoint",
    "InboundMessage",
    "InboundRaw",
    "InboxItem",
    "LoginAttempt",
    "MediationSession",
    "Mediator",
    "OutboxMessage",
    "Party",
    "PendingDeadline",
    "QuarantineEntry",
    "SessionAttendee",
    "SessionMediator",
    "SmsMessage",
    "StaffSession",
    "StaffUser",
    "StoredAttachment",
    "Suppression",
    "TimelineEvent",
]
