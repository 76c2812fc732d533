"""Intake: one message from the mailbox becomes a case, a step on a case, or a triage item.

By concern: `batches` (the Intake class: a batch read, then stored and run through the steps in one
transaction, a savepoint a message), `store` (the raw message stored first; known messages and
copies), `steps` (the table of named steps, each consuming the message's one `Reading` from
inbox/reading.py), `cases` (opening a case or holding mail on one), `quarantine` (what could not be
taken, kept with the reason; `retry_quarantined`). The transaction also writes the acknowledgement to
the outbox, so a crash anywhere leaves either nothing (the message is still unmarked on the server and
is taken again) or everything.
"""

from inbox.intake.batches import BATCH_MAX, Intake
from inbox.intake.quarantine import retry_quarantined

__all__ = ["BATCH_MAX", "Intake", "retry_quarantined"]
