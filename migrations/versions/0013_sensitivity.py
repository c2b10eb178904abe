"""Sensitivity of layers and attributes (issue 18): who may see exact locations and which attributes.

Revision ID: 0013_sensitivity
Revises: 0012_monitoring
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_sensitivity"
down_revision: str | None = "0012_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEVELS = "('public', 'partner', 'internal', 'restricted')"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE layers
          ADD COLUMN sensitivity text NOT NULL DEFAULT 'public'
              CONSTRAINT layers_sensitivity CHECK (sensitivity IN {_LEVELS}),
          ADD COLUMN attribute_sensitivity jsonb NOT NULL DEFAULT '{{}}'
              CONSTRAINT layers_attribute_sensitivity
              CHECK (jsonb_typeof(attribute_sensitivity) = 'object'),
          ADD COLUMN generalise text NOT NULL DEFAULT 'grid'
              CONSTRAINT layers_generalise CHECK (generalise IN ('grid', 'admin')),
          ADD COLUMN generalise_m int NOT NULL DEFAULT 10000
              CONSTRAINT layers_generalise_m CHECK (generalise_m BETWEEN 100 AND 1000000)
        """
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE layers DROP COLUMN sensitivity, DROP COLUMN attribute_sensitivity,"
        " DROP COLUMN generalise, DROP COLUMN generalise_m"
    )
