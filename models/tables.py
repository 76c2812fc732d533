"""Import every table so SQLModel.metadata is complete (for Alembic and create_all)."""

from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage, Suppression
from models.sessions import CaseEvent, MediationSession, Mediator, SessionAttendee, SessionMediator
from models.staff import AuditEvent, StaffUser
from models.telephony import Call, CallbackTask, SmsMessage

__all__ = [
    "AuditEvent",
    "Call",
    "CallbackTask",
    "Case",
    "CaseEvent",
    "Contact",
    "ContactPoint",
    "InboundMessage",
    "InboxItem",
    "MediationSession",
    "Mediator",
    "OutboxMessage",
    "Party",
    "QuarantineEntry",
    "SessionAttendee",
    "SessionMediator",
    "SmsMessage",
    "StaffUser",
    "StoredAttachment",
    "Suppression",
    "TimelineEvent",
]
