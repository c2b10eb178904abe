"""Layer titles in French and English, a style and an order of their own.

A layer keeps the title it was created with (`title`, the one every client has seen so far) and
may have a title per language of the interface (`title_fr`, `title_en`); the map shows the one
of its language, else `title`. `style` holds how the map draws it: {"colour": "#rrggbb", "by":
attribute, "categories": {value: "#rrggbb"}}; an empty style means the defaults (the colours of
its kind, its theme, or the palette colour of its id). `sort_order` orders layers within their
kind in the layer panel (lower first; the first is drawn on top); they are 1000 apart, so that
a layer moved between two takes the middle and no other changes.

Revision ID: 0005_layer_styles
Revises: 0004_access
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_layer_styles"
down_revision: str | None = "0004_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("layers", sa.Column("title_fr", sa.Text))
    op.add_column("layers", sa.Column("title_en", sa.Text))
    op.add_column(
        "layers",
        sa.Column("style", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("layers", sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"))
    op.create_check_constraint("layers_style_object", "layers", "jsonb_typeof(style) = 'object'")
    # The order they were listed in (by slug within a kind), 1000 apart: room to move between.
    op.execute(
        """
        UPDATE layers SET sort_order = 1000 * o.n
          FROM (SELECT id, row_number() OVER (PARTITION BY kind ORDER BY slug) AS n
                  FROM layers) o
         WHERE layers.id = o.id
        """
    )


def downgrade() -> None:
    op.drop_constraint("layers_style_object", "layers")
    op.drop_column("layers", "sort_order")
    op.drop_column("layers", "style")
    op.drop_column("layers", "title_en")
    op.drop_column("layers", "title_fr")
