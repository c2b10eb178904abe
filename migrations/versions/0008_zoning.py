"""Zoning: zone lifecycle records (transitions, consents), available-land results.

Revision ID: 0008_zoning
Revises: 0007_layer_import_mapping
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0008_zoning"
down_revision: str | None = "0007_layer_import_mapping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
