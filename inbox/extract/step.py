"""One extraction step: a named reader of one field or a small family of fields, and what it needs.

A step reads the context (the message, never changed) and the referral as earlier steps left it, and
returns what it found; it never writes the referral itself. `needs` names the referral fields it reads,
so the order of the table is checked (`check_table`) rather than remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

from inbox.extract.context import Context
from inbox.referral import Evidence, Referral

_REFERRAL_FIELDS = frozenset(f.name for f in fields(Referral))


@dataclass(slots=True)
class Filled:
    """What a step found: field -> value, and the evidence, keyed by field ("dispute_topics/<topic>")."""

    values: dict[str, object] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)


def one(name: str, value: object, evidence: Evidence | None) -> Filled:
    """A single field's value, its evidence kept only when there is a value."""
    return Filled({name: value}, {name: evidence} if value is not None and evidence is not None else {})


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # in logs, the pipeline-errors counter and the coordinator's note when it fails
    fills: tuple[str, ...]  # the referral fields it sets
    read: Callable[[Context, Referral], Filled]
    needs: tuple[str, ...] = ()  # referral fields it reads: set by an earlier step (None if that one failed)


def check_table(steps: Sequence[Step]) -> None:
    """Every need is filled by an earlier step, no field by two steps, every name is a referral field."""
    filled: set[str] = set()
    names: set[str] = set()
    for step in steps:
        if step.name in names:
            raise ValueError(f"step {step.name!r} is in the table twice")
        names.add(step.name)
        unknown = {*step.fills, *step.needs} - _REFERRAL_FIELDS
        if unknown:
            raise ValueError(f"step {step.name!r} names no referral field {sorted(unknown)}")
        missing = set(step.needs) - filled
        if missing:
            raise ValueError(f"step {step.name!r} needs {sorted(missing)}, which no earlier step fills")
        twice = filled & set(step.fills)
        if twice:
            raise ValueError(f"step {step.name!r} fills {sorted(twice)}, already filled by an earlier step")
        filled.update(step.fills)


def apply(step: Step, found: Filled, ref: Referral) -> None:
    """Put what a step found on the referral; a step that returns a field it does not declare is a bug."""
    fills = step.fills
    undeclared = [name for name in found.values if name not in fills]
    undeclared += [key for key in found.evidence if key.partition("/")[0] not in fills]
    if undeclared:
        raise ValueError(f"step {step.name!r} returned undeclared fields {sorted(undeclared)}")
    for name, value in found.values.items():
        setattr(ref, name, value)
    ref.evidence.update(found.evidence)
