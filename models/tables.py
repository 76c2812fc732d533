"""Import every table so SQLModel.metadata is complete (for Alembic and create_all)."""

from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage, Suppression
from models.staff import AuditEvent, StaffUser
from models.telephony import Call, CallbackTask, SmsMessage

__all__ = [
    "AuditEvent",
    "Call",
    "CallbackTask",
    "Case",
    "Contact",
    "ContactPoint",
    "InboundMessage",
    "InboxItem",
    "OutboxMessage",
    "Party",
    "QuarantineEntry",
    "SmsMessage",
    "StaffUser",
    "StoredAttachment",
    "Suppression",
    "TimelineEvent",
]
