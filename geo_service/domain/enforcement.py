"""Rules of ASM enforcement (DOMAIN.md): permit events, inspections, samples, sanctions and the
steps of a forced closure. No database here: store/enforcement.py applies these rules.

    >>> exceeded(0.8, 0.5), exceeded(0.2, None)
    (True, None)
    >>> next_closure_step(["notice_served"])
    'deadline_set'
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from geo_service.errors import Conflict, InvalidInput
from geo_service.problems import msg

PermitEvent = Literal["renewal", "transfer", "cancellation"]
Severity = Literal["minor", "major", "critical"]
Medium = Literal["soil", "water"]
SanctionType = Literal["warning", "fine", "withdrawal_of_support", "revocation", "closure"]
# A forced closure's steps, in the order they must be recorded.
CLOSURE_STEPS = (
    "notice_served",
    "deadline_set",
    "closure_executed",
    "site_secured",
    "verification",
)
ClosureStep = Literal[
    "notice_served", "deadline_set", "closure_executed", "site_secured", "verification"
]
# Permits that no event may change any more.
FINAL_PERMIT_STATUSES = frozenset({"cancelled"})


def exceeded(value: float, limit: float | None) -> bool | None:
    """Whether a sample's result is over its limit (None when no limit is known)."""
    return None if limit is None else value > limit


def permit_changes(
    event: str,
    current: dict[str, Any],
    *,
    new_holder: str | None = None,
    new_holder_type: str | None = None,
    new_expires: date | None = None,
) -> dict[str, Any]:
    """The permit's properties an event changes; Conflict or InvalidInput when it may not
    happen: no event on a cancelled permit, a renewal needs a new expiry after the current
    one, a transfer a new holder other than the current one."""
    status = current.get("status") or "active"
    if status in FINAL_PERMIT_STATUSES:
        raise Conflict(msg("permit.final", status=status, event=event), where={"event": event})
    if event == "renewal":
        if new_expires is None:
            raise InvalidInput(msg("permit.renewal_expiry"), where={"field": "new_expires"})
        old = current.get("expires")
        if old is not None and new_expires <= date.fromisoformat(str(old)):
            raise InvalidInput(
                msg("permit.renewal_later", new=new_expires.isoformat(), old=str(old)),
                where={"field": "new_expires"},
            )
        return {"expires": new_expires.isoformat(), "status": "active"}
    if event == "transfer":
        if not new_holder:
            raise InvalidInput(msg("permit.transfer_holder"), where={"field": "new_holder"})
        if new_holder == current.get("holder"):
            raise InvalidInput(
                msg("permit.transfer_same", holder=new_holder), where={"field": "new_holder"}
            )
        changes: dict[str, Any] = {"holder": new_holder}
        if new_holder_type is not None:
            changes["holder_type"] = new_holder_type
        return changes
    return {"status": "cancelled"}


def check_sanction(kind: str, amount: float | None, currency: str | None) -> None:
    """A fine has an amount and a currency; no other sanction has either."""
    if kind == "fine" and (amount is None or currency is None):
        raise InvalidInput(msg("sanction.fine_amount"), where={"field": "amount"})
    if kind != "fine" and (amount is not None or currency is not None):
        raise InvalidInput(msg("sanction.amount_only_fine", kind=kind), where={"field": "amount"})


def next_closure_step(done: list[str]) -> str | None:
    """The step a closure records next after the steps `done` (in order); None when complete."""
    return CLOSURE_STEPS[len(done)] if len(done) < len(CLOSURE_STEPS) else None


def check_closure(kind: str) -> None:
    """Steps and censuses belong to closures only."""
    if kind != "closure":
        raise Conflict(msg("closure.not_closure", kind=kind), where={"field": "sanction_id"})


def check_closure_step(kind: str, done: list[str], step: str) -> None:
    """Steps belong to closures and come in CLOSURE_STEPS order, each once."""
    check_closure(kind)
    expected = next_closure_step(done)
    if step != expected:
        raise Conflict(
            msg("closure.out_of_order", step=step, expected=expected or msg("closure.complete")),
            where={"field": "step"},
            extra={"expected": expected, "done": done},
        )
