"""ASM permits, inspections, samples, sanctions, closures; tailings and abandoned-mine fields.

Permits are features of kind asm_permit (their fields live in properties, as every kind's do);
this revision adds the records around them (store/enforcement.py writes them):
`permit_events`: renewals, transfers and cancellations, each with who, when, the comment and
what changed (new holder, new expiry) and the permit's version it made;
`inspections` of a site or permit (any feature), with `inspection_findings` (text, severity)
and `inspection_samples` (soil or water: parameter, value, unit, limit, exceeded);
`sanctions`, each tied to one finding; `closure_steps` of a closure sanction, in order, and
`closure_censuses` of the workers and residents of the site closed.
Tailings and abandoned-mine fields are properties: no column needed.

Revision ID: 0009_permits_enforcement
Revises: 0008_zoning
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_permits_enforcement"
down_revision: str | None = "0008_zoning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _who() -> list[sa.Column]:
    return [
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _feature() -> list[sa.Column]:
    return [
        sa.Column(
            "layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("feature_id", sa.BigInteger, nullable=False),
    ]


def _parent(table: str) -> sa.Column:
    return sa.Column(
        f"{table[:-1]}_id",
        sa.BigInteger,
        sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "permit_events",
        sa.Column("id", sa.BigInteger, primary_key=True),
        *_feature(),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("event_date", sa.Date, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("new_holder", sa.Text),
        sa.Column("new_holder_type", sa.String(16)),
        sa.Column("new_expires", sa.Date),
        sa.Column("version", sa.Integer),
        *_who(),
        sa.CheckConstraint(
            "event IN ('renewal', 'transfer', 'cancellation')", name="permit_events_event"
        ),
    )
    op.create_index("permit_events_feature", "permit_events", ["layer_id", "feature_id"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.BigInteger, primary_key=True),
        *_feature(),
        sa.Column("inspected_on", sa.Date, nullable=False),
        sa.Column("team", sa.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text),
        *_who(),
    )
    op.create_index("inspections_feature", "inspections", ["layer_id", "feature_id"])
    op.create_table(
        "inspection_findings",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _parent("inspections"),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
    )
    op.create_table(
        "inspection_samples",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _parent("inspections"),
        sa.Column("medium", sa.String(8), nullable=False),
        sa.Column("parameter", sa.Text, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("limit_value", sa.Float),
        sa.Column("exceeded", sa.Boolean),
    )
    op.create_table(
        "sanctions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "finding_id",
            sa.BigInteger,
            sa.ForeignKey("inspection_findings.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("currency", sa.String(3)),
        sa.Column("comment", sa.Text),
        *_who(),
        sa.CheckConstraint(
            "(kind = 'fine') = (amount IS NOT NULL AND currency IS NOT NULL)",
            name="sanctions_fine_amount",
        ),
    )
    op.create_table(
        "closure_steps",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _parent("sanctions"),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("done_on", sa.Date, nullable=False),
        sa.Column("comment", sa.Text),
        *_who(),
        sa.UniqueConstraint("sanction_id", "step", name="closure_steps_once"),
    )
    op.create_table(
        "closure_censuses",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _parent("sanctions"),
        sa.Column("census_date", sa.Date, nullable=False),
        sa.Column("workers", sa.Integer, nullable=False),
        sa.Column("residents", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        *_who(),
        sa.CheckConstraint("workers >= 0 AND residents >= 0", name="closure_censuses_counts"),
    )


def downgrade() -> None:
    for table in (
        "closure_censuses",
        "closure_steps",
        "sanctions",
        "inspection_samples",
        "inspection_findings",
        "inspections",
        "permit_events",
    ):
        op.drop_table(table)
