"""Site monitoring register (issue 18): visits, photos, site status history, incidents, risks, corrective actions.

Sites are features of any layer, referenced by (layer_id, feature_id). `site_statuses` rows each
set only the fields they give (the state as of a day is, per field, the latest row on or before
it); `action_progress` is the history of a corrective action's status. `entry_key` makes a field
form's repeated send one row (store/monitoring.py inserts with ON CONFLICT on it).

Revision ID: 0012_monitoring
Revises: 0011_whole_from_writer
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0012_monitoring"
down_revision: str | None = "0011_whole_from_writer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CATEGORIES = (
    "child_labour", "worst_forms_child_labour", "discrimination", "forced_labour", "gender",
    "torture", "humanitarian_law", "non_state_armed_groups", "security_forces",
    "general_security", "occupational_health_safety", "workers_rights", "commercial_conflict",
    "community_participation", "indigenous_peoples", "corruption", "tax_transparency",
    "money_laundering", "transparency_reporting", "corporate_governance", "traceability",
    "chain_of_custody", "emissions_waste", "water", "mine_closure", "fauna_flora",
)  # fmt: skip
_STAKEHOLDERS = (
    "artisanal_miners", "mining_cooperatives", "community_representatives", "upstream_industry",
    "local_ngos", "public_service", "government", "security_forces",
)  # fmt: skip


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _site(table: str) -> list[sa.Column]:
    return [
        sa.Column(
            "layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "feature_id",
            sa.BigInteger,
            sa.ForeignKey("features.id", ondelete="CASCADE"),
            nullable=False,
        ),
    ]


def _who(required_at: bool = True) -> list[sa.Column]:
    return [
        sa.Column("recorded_by", sa.Text),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=not required_at,
        ),
    ]


def _point() -> sa.Column:
    return sa.Column("position", Geometry("POINT", srid=4326, spatial_index=False), nullable=True)


def upgrade() -> None:
    op.create_table(
        "monitoring_visits",
        sa.Column("id", sa.BigInteger, primary_key=True),
        *_site("monitoring_visits"),
        sa.Column("visited_on", sa.Date, nullable=False),
        sa.Column("team", sa.Text),
        sa.Column("observations", sa.Text),
        sa.Column("workers", sa.Integer),
        sa.Column("women", sa.Integer),
        sa.Column("children", sa.Integer),
        sa.Column("methods", sa.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("armed_actors", sa.Boolean),
        sa.Column("state_actors", sa.Boolean),
        _point(),
        sa.Column("entry_key", sa.Text, unique=True),
        *_who(),
        sa.CheckConstraint("methods <@ ARRAY['mercury', 'gravity']::text[]", name="visits_methods"),
        sa.CheckConstraint(
            "(workers IS NULL OR workers >= 0) AND (women IS NULL OR women >= 0)"
            " AND (children IS NULL OR children >= 0)",
            name="visits_counts",
        ),
    )
    op.create_index(
        "monitoring_visits_site", "monitoring_visits", ["layer_id", "feature_id", "visited_on"]
    )
    op.create_table(
        "monitoring_photos",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "visit_id",
            sa.BigInteger,
            sa.ForeignKey("monitoring_visits.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("stored_path", sa.Text, nullable=False),
        sa.Column("thumbnail", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint(
            _in("content_type", ("image/jpeg", "image/png", "image/webp")), name="photos_type"
        ),
    )
    op.create_table(
        "site_statuses",
        sa.Column("id", sa.BigInteger, primary_key=True),
        *_site("site_statuses"),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("qualification", sa.Text),
        sa.Column("operating", sa.Text),
        sa.Column("scheme", sa.Text),
        sa.Column("comment", sa.Text),
        *_who(required_at=False),
        sa.CheckConstraint(
            "qualification IS NULL OR "
            + _in("qualification", ("green", "yellow", "red", "not_assessed")),
            name="site_statuses_qualification",
        ),
        sa.CheckConstraint(
            "operating IS NULL OR "
            + _in(
                "operating",
                ("active", "inactive", "suspended", "closed_by_authority", "reopened"),
            ),
            name="site_statuses_operating",
        ),
    )
    op.create_index(
        "site_statuses_site", "site_statuses", ["layer_id", "feature_id", "effective_on", "id"]
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger, primary_key=True),
        *_site("incidents"),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("description", sa.Text),
        sa.Column("reported_by", sa.Text),
        _point(),
        sa.Column("entry_key", sa.Text, unique=True),
        sa.Column("verification", sa.Text, nullable=False, server_default="unverified"),
        sa.Column("verified_by", sa.Text),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("verification_comment", sa.Text),
        *_who(),
        sa.CheckConstraint(_in("category", _CATEGORIES), name="incidents_category"),
        sa.CheckConstraint(
            _in("severity", ("low", "medium", "high", "critical")), name="incidents_severity"
        ),
        sa.CheckConstraint(_in("status", ("open", "resolved")), name="incidents_status"),
        sa.CheckConstraint(
            _in("verification", ("unverified", "verified", "rejected")),
            name="incidents_verification",
        ),
    )
    op.create_index("incidents_site", "incidents", ["layer_id", "feature_id", "occurred_on"])
    op.create_table(
        "risks",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("likelihood", sa.SmallInteger, nullable=False),
        sa.Column("rated_by", sa.Text),
        sa.Column("rated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="risks_severity"),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name="risks_likelihood"),
    )
    op.create_table(
        "corrective_actions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        *_site("corrective_actions"),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="SET NULL"),
            index=True,
        ),
        sa.Column("stakeholder", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("recommended_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date),
        sa.Column("status", sa.Text, nullable=False, server_default="recommended"),
        *_who(),
        sa.CheckConstraint(_in("stakeholder", _STAKEHOLDERS), name="actions_stakeholder"),
        sa.CheckConstraint(
            _in("status", ("recommended", "in_progress", "done")), name="actions_status"
        ),
    )
    op.create_index("corrective_actions_site", "corrective_actions", ["layer_id", "feature_id"])
    op.create_table(
        "action_progress",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "action_id",
            sa.BigInteger,
            sa.ForeignKey("corrective_actions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("comment", sa.Text),
        *_who(required_at=False),
        sa.CheckConstraint(
            _in("status", ("recommended", "in_progress", "done")), name="action_progress_status"
        ),
    )
    op.create_index("action_progress_action", "action_progress", ["action_id", "effective_on"])


def downgrade() -> None:
    for table in (
        "action_progress",
        "corrective_actions",
        "risks",
        "incidents",
        "site_statuses",
        "monitoring_photos",
        "monitoring_visits",
    ):
        op.drop_table(table)
