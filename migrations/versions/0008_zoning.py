"""Zoning: the lifecycle records of ASM zones (transitions, title holders' consents).

`zone_transitions`: one row per status move of a zone (store/zoning.py writes it in the same
transaction as the feature's new version): who, when, the comment, the decree when gazetted,
the border flag and the screening report exactly as it was produced then.
`zone_consents`: a title holder's recorded consent to a zone over its title, which gazetting
a zone that overlaps the title requires.

Revision ID: 0008_zoning
Revises: 0007_layer_import_mapping
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_zoning"
down_revision: str | None = "0007_layer_import_mapping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zone_transitions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("feature_id", sa.BigInteger, nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("decree_ref", sa.Text),
        sa.Column("override", postgresql.JSONB(none_as_null=True)),
        sa.Column("border", postgresql.JSONB(none_as_null=True)),
        sa.Column("consents", postgresql.JSONB(none_as_null=True)),
        sa.Column("screening", postgresql.JSONB(none_as_null=True)),
    )
    op.create_index("zone_transitions_feature", "zone_transitions", ["layer_id", "feature_id"])
    op.create_table(
        "zone_consents",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("feature_id", sa.BigInteger, nullable=False),
        sa.Column("title_id", sa.BigInteger, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("consent_date", sa.Date, nullable=False),
        sa.Column("document_ref", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("zone_consents_feature", "zone_consents", ["layer_id", "feature_id"])


def downgrade() -> None:
    op.drop_table("zone_consents")
    op.drop_table("zone_transitions")
