"""ASM permits, inspections, samples, sanctions, closures; tailings and abandoned-mine fields.

Revision ID: 0009_permits_enforcement
Revises: 0008_zoning
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0009_permits_enforcement"
down_revision: str | None = "0008_zoning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
