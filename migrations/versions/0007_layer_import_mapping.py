"""The field and value mapping a layer's files are imported with (io/mapping.py).

Kept with the layer so that a re-import of the same cadastre, without a mapping of its own,
lands in the same typed fields: {"fields": {kind field: source field}, "values": {kind field:
{source value: value}}}. NULL: the layer's files are imported as they come.

Revision ID: 0007_layer_import_mapping
Revises: 0006_filter_functions
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_layer_import_mapping"
down_revision: str | None = "0006_filter_functions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("layers", sa.Column("import_mapping", postgresql.JSONB))
    op.create_check_constraint(
        "layers_import_mapping_object", "layers", "jsonb_typeof(import_mapping) = 'object'"
    )


def downgrade() -> None:
    op.drop_constraint("layers_import_mapping_object", "layers")
    op.drop_column("layers", "import_mapping")
