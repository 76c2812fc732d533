"""A rule is a small named unit (Mailman's shape): a name, the kind of machine mail it votes for, a
check that returns a plain-words reason or None, and a description a coordinator can read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inbox.classify.facts import Facts

BOUNCE = "bounce"
AUTO_REPLY = "auto_reply"
AUTO_GENERATED = "auto_generated"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: str
    check: Callable[[Facts], str | None]
    description: str

    def __call__(self, facts: Facts) -> str | None:
        return self.check(facts)


def rule(kind: str) -> Callable[[Callable[[Facts], str | None]], Rule]:
    """Make a function into a named rule; its docstring says what it catches and why."""

    def wrap(fn: Callable[[Facts], str | None]) -> Rule:
        return Rule(fn.__name__, kind, fn, " ".join((fn.__doc__ or "").split()))

    return wrap
