"""Telephone numbers as E.164, the way the rest of the desk stores and compares them: the one reading
lives in models.phones, shared with telephony (a caller's ID, an SMS sender)."""

from __future__ import annotations

from models.phones import to_e164

__all__ = ["to_e164"]
