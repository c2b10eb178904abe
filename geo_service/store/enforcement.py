"""The records of enforcement: permit events, inspections with findings and samples, sanctions
on findings, the steps and census of a forced closure (migration 0009). The rules are
domain/enforcement.py's; this module reads and writes them.

A permit event changes the permit through store/layers.update_feature (so its history, audit
entry and version are those of any edit) and is kept with the version it made:

    >>> record_permit_event(session, layer, 12, "renewal", who=editor,
    ...                     event_date=date(2027, 1, 5), new_expires=date(2030, 1, 5))["version"]
    2
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_service.db.models import (
    ClosureCensus,
    ClosureStep,
    Finding,
    Inspection,
    Layer,
    PermitEvent,
    Sample,
    Sanction,
)
from geo_service.domain import enforcement as rules
from geo_service.domain.access import Principal, Role
from geo_service.domain.kinds import Kind
from geo_service.errors import InvalidInput, UnknownFeature
from geo_service.problems import msg
from geo_service.store import layers as store


def _permit_layer(layer: Layer, feature_id: int) -> None:
    if layer.kind != Kind.asm_permit:
        raise InvalidInput(
            msg("permit.not_permit", id=feature_id, layer=layer.slug, kind=layer.kind),
            where={"layer": layer.slug, "id": feature_id},
        )


def _event(e: PermitEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "event": e.event,
        "date": e.event_date.isoformat(),
        "comment": e.comment,
        "new_holder": e.new_holder,
        "new_holder_type": e.new_holder_type,
        "new_expires": e.new_expires.isoformat() if e.new_expires else None,
        "version": e.version,
        "by": e.recorded_by,
        "at": e.recorded_at.isoformat() if e.recorded_at else None,
    }


def permit_events(session: Session, layer: Layer, feature_id: int) -> list[dict[str, Any]]:
    """The permit's renewals, transfers and cancellations, oldest first."""
    _permit_layer(layer, feature_id)
    store.get_feature(session, layer, feature_id)
    events = session.scalars(
        select(PermitEvent)
        .where(PermitEvent.layer_id == layer.id, PermitEvent.feature_id == feature_id)
        .order_by(PermitEvent.id)
    )
    return [_event(e) for e in events]


def record_permit_event(
    session: Session,
    layer: Layer,
    feature_id: int,
    event: str,
    *,
    who: Principal,
    event_date: date,
    comment: str | None = None,
    new_holder: str | None = None,
    new_holder_type: str | None = None,
    new_expires: date | None = None,
) -> dict[str, Any]:
    """Renew, transfer or cancel the permit: its properties changed as the rules say, the
    event kept with the version it made."""
    who.require(Role.editor, msg("access.change_feature"))
    _permit_layer(layer, feature_id)
    current = store.get_feature(session, layer, feature_id, for_update=True)
    changes = rules.permit_changes(
        event, current.properties or {}, new_holder=new_holder,
        new_holder_type=new_holder_type, new_expires=new_expires,
    )  # fmt: skip
    changed = store.update_feature(
        session, layer, feature_id, properties=changes, who=who,
        comment=comment or msg("permit.event_comment", event=event),
    )  # fmt: skip
    record = PermitEvent(
        layer_id=layer.id,
        feature_id=feature_id,
        event=event,
        event_date=event_date,
        comment=comment,
        new_holder=new_holder if event == "transfer" else None,
        new_holder_type=new_holder_type if event == "transfer" else None,
        new_expires=new_expires if event == "renewal" else None,
        version=changed.version,
        recorded_by=who.actor,
    )
    session.add(record)
    session.flush()
    session.refresh(record)
    return _event(record)


def _inspection(i: Inspection) -> dict[str, Any]:
    return {
        "id": i.id,
        "feature_id": i.feature_id,
        "date": i.inspected_on.isoformat(),
        "team": list(i.team),
        "notes": i.notes,
        "findings": [{"id": f.id, "text": f.text, "severity": f.severity} for f in i.findings],
        "samples": [
            {
                "id": s.id,
                "medium": s.medium,
                "parameter": s.parameter,
                "value": s.value,
                "unit": s.unit,
                "limit": s.limit_value,
                "exceeded": s.exceeded,
            }
            for s in i.samples
        ],
        "by": i.recorded_by,
        "at": i.recorded_at.isoformat() if i.recorded_at else None,
    }


def record_inspection(
    session: Session,
    layer: Layer,
    feature_id: int,
    *,
    who: Principal,
    inspected_on: date,
    team: list[str],
    notes: str | None,
    findings: list[dict[str, Any]],
    samples: list[dict[str, Any]],
) -> dict[str, Any]:
    """An inspection of the feature with its findings and samples (each sample's `exceeded`
    computed from its limit)."""
    who.require(Role.editor, msg("access.change_feature"))
    store.get_feature(session, layer, feature_id)
    inspection = Inspection(
        layer_id=layer.id, feature_id=feature_id, inspected_on=inspected_on, team=team,
        notes=notes, recorded_by=who.actor,
    )  # fmt: skip
    inspection.findings = [Finding(text=f["text"], severity=f["severity"]) for f in findings]
    inspection.samples = [
        Sample(
            medium=s["medium"],
            parameter=s["parameter"],
            value=s["value"],
            unit=s["unit"],
            limit_value=s.get("limit"),
            exceeded=rules.exceeded(s["value"], s.get("limit")),
        )  # fmt: skip
        for s in samples
    ]
    session.add(inspection)
    session.flush()
    session.refresh(inspection)
    return _inspection(inspection)


def inspections(session: Session, layer: Layer, feature_id: int) -> list[dict[str, Any]]:
    """The feature's inspections, oldest first, each with its findings and samples."""
    store.get_feature(session, layer, feature_id)
    found = session.scalars(
        select(Inspection)
        .where(Inspection.layer_id == layer.id, Inspection.feature_id == feature_id)
        .order_by(Inspection.inspected_on, Inspection.id)
    )
    return [_inspection(i) for i in found]


def _finding(session: Session, layer: Layer, feature_id: int, finding_id: int) -> Finding:
    finding = session.scalar(
        select(Finding)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .where(
            Finding.id == finding_id,
            Inspection.layer_id == layer.id,
            Inspection.feature_id == feature_id,
        )
    )
    if finding is None:
        raise UnknownFeature(
            msg("sanction.no_finding", finding=finding_id, id=feature_id, layer=layer.slug),
            where={"layer": layer.slug, "id": feature_id, "finding_id": finding_id},
        )
    return finding


def _sanction(s: Sanction) -> dict[str, Any]:
    return {
        "id": s.id,
        "finding_id": s.finding_id,
        "kind": s.kind,
        "date": s.decided_on.isoformat(),
        "amount": float(s.amount) if s.amount is not None else None,
        "currency": s.currency,
        "comment": s.comment,
        "by": s.recorded_by,
        "steps": [
            {
                "step": c.step,
                "date": c.done_on.isoformat(),
                "comment": c.comment,
                "by": c.recorded_by,
            }
            for c in s.steps
        ],  # fmt: skip
        "next_step": rules.next_closure_step([c.step for c in s.steps])
        if s.kind == "closure"
        else None,
        "censuses": [
            {
                "date": c.census_date.isoformat(),
                "workers": c.workers,
                "residents": c.residents,
                "comment": c.comment,
                "by": c.recorded_by,
            }
            for c in s.censuses
        ],  # fmt: skip
    }


def record_sanction(
    session: Session,
    layer: Layer,
    feature_id: int,
    *,
    who: Principal,
    finding_id: int,
    kind: str,
    decided_on: date,
    amount: float | None = None,
    currency: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """A sanction on a finding of one of the feature's inspections."""
    who.require(Role.editor, msg("access.change_feature"))
    store.get_feature(session, layer, feature_id)
    finding = _finding(session, layer, feature_id, finding_id)
    rules.check_sanction(kind, amount, currency)
    sanction = Sanction(
        finding_id=finding.id, kind=kind, decided_on=decided_on, amount=amount,
        currency=currency, comment=comment, recorded_by=who.actor,
    )  # fmt: skip
    session.add(sanction)
    session.flush()
    session.refresh(sanction)
    return _sanction(sanction)


def _sanctions_query(layer: Layer, feature_id: int) -> Any:
    return (
        select(Sanction)
        .join(Finding, Finding.id == Sanction.finding_id)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .where(Inspection.layer_id == layer.id, Inspection.feature_id == feature_id)
    )


def sanctions(session: Session, layer: Layer, feature_id: int) -> list[dict[str, Any]]:
    """The sanctions decided on the feature's findings, oldest first."""
    store.get_feature(session, layer, feature_id)
    found = session.scalars(_sanctions_query(layer, feature_id).order_by(Sanction.id))
    return [_sanction(s) for s in found]


def _one_sanction(session: Session, layer: Layer, feature_id: int, sanction_id: int) -> Sanction:
    store.get_feature(session, layer, feature_id)
    sanction = session.scalar(
        _sanctions_query(layer, feature_id).where(Sanction.id == sanction_id).with_for_update()
    )
    if sanction is None:
        raise UnknownFeature(
            msg("sanction.unknown", sanction=sanction_id, id=feature_id, layer=layer.slug),
            where={"layer": layer.slug, "id": feature_id, "sanction_id": sanction_id},
        )
    return sanction


def sanction(session: Session, layer: Layer, feature_id: int, sanction_id: int) -> dict[str, Any]:
    return _sanction(_one_sanction(session, layer, feature_id, sanction_id))


def record_closure_step(
    session: Session,
    layer: Layer,
    feature_id: int,
    sanction_id: int,
    *,
    who: Principal,
    step: str,
    done_on: date,
    comment: str | None = None,
) -> dict[str, Any]:
    """The next step of a forced closure; Conflict when it is not the next one."""
    who.require(Role.editor, msg("access.change_feature"))
    closure = _one_sanction(session, layer, feature_id, sanction_id)
    rules.check_closure_step(closure.kind, [c.step for c in closure.steps], step)
    closure.steps.append(
        ClosureStep(step=step, done_on=done_on, comment=comment, recorded_by=who.actor)
    )
    session.flush()
    return _sanction(closure)


def record_census(
    session: Session,
    layer: Layer,
    feature_id: int,
    sanction_id: int,
    *,
    who: Principal,
    census_date: date,
    workers: int,
    residents: int,
    comment: str | None = None,
) -> dict[str, Any]:
    """A census of the workers and residents of the site a closure closes."""
    who.require(Role.editor, msg("access.change_feature"))
    closure = _one_sanction(session, layer, feature_id, sanction_id)
    rules.check_closure(closure.kind)
    closure.censuses.append(
        ClosureCensus(census_date=census_date, workers=workers, residents=residents,
                      comment=comment, recorded_by=who.actor)
    )  # fmt: skip
    session.flush()
    return _sanction(closure)
