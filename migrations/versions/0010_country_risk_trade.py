"""Country risk levels, regions, trade routes.

Revision ID: 0010_country_risk_trade
Revises: 0009_permits_enforcement
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0010_country_risk_trade"
down_revision: str | None = "0009_permits_enforcement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
