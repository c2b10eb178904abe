"""Country risk levels, regions, trade routes.

Country risk ratings are rows of their own (a country by its ISO 3166-1 alpha-3 code, a mineral
or NULL for every mineral, a supply-chain stage or NULL for every stage, one of the three
categories, a level, its source and year); the countries' shapes are features of reference
layers of theme admin_boundary (Natural Earth), matched by code. A region groups countries by
their codes; the Mano River Union is seeded. Trade points and routes are kinds of layer and need
no table.

Revision ID: 0010_country_risk_trade
Revises: 0009_permits_enforcement
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_country_risk_trade"
down_revision: str | None = "0009_permits_enforcement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "country_risk",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("iso3", sa.String(3), nullable=False),
        sa.Column("country", sa.Text),
        sa.Column("mineral", sa.Text),
        sa.Column("stage", sa.String(16)),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("iso3 ~ '^[A-Z]{3}$'", name="country_risk_iso3"),
        sa.CheckConstraint(
            "stage IN ('extraction', 'processing', 'refining')", name="country_risk_stage"
        ),
        sa.CheckConstraint(
            "category IN ('environmental', 'human_rights', 'socio_economic')",
            name="country_risk_category",
        ),
        sa.CheckConstraint(
            "level IN ('low', 'moderate', 'high', 'very_high')", name="country_risk_level"
        ),
    )
    # One rating per country, mineral, stage and category: an import of a newer study replaces it.
    op.execute(
        "CREATE UNIQUE INDEX country_risk_key ON country_risk "
        "(iso3, coalesce(mineral, ''), coalesce(stage, ''), category)"
    )
    regions = op.create_table(
        "regions",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("name_fr", sa.Text, nullable=False),
        sa.Column("members", postgresql.ARRAY(sa.String(3)), nullable=False),
    )
    op.bulk_insert(
        regions,
        [
            {
                "code": "MRU",
                "name_en": "Mano River Union",
                "name_fr": "Union du fleuve Mano",
                "members": ["CIV", "LBR", "GIN", "SLE"],
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("regions")
    op.drop_table("country_risk")
