"""Functions the CQL2 filters call: a text read as a date or a timestamp, NULL when it is none.

Attributes came from files as text ("2019-07-14", "14/07/2019", "n.d."); a filter that compares
one with DATE('2020-01-01') must skip those it cannot read, not fail the whole request, and a
cast (`::date`) raises on the first bad value. These functions catch that and answer NULL,
which a CQL2 comparison treats as unknown (the feature is not selected).

Revision ID: 0006_filter_functions
Revises: 0005_layer_styles
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_filter_functions"
down_revision: str | None = "0005_layer_styles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # STABLE, not IMMUTABLE: reading a timestamp depends on the session's time zone and DateStyle.
    # Only ISO 8601 forms are read, so that "03/04/2020" never means two different days.
    op.execute(
        r"""
        CREATE FUNCTION filter_date(value text) RETURNS date
        LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
        BEGIN
            IF value IS NULL OR value !~ '^\d{4}-\d{2}-\d{2}' THEN
                RETURN NULL;
            END IF;
            RETURN substr(value, 1, 10)::date;
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END $$;

        CREATE FUNCTION filter_timestamp(value text) RETURNS timestamptz
        LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
        BEGIN
            IF value IS NULL OR value !~ '^\d{4}-\d{2}-\d{2}' THEN
                RETURN NULL;
            END IF;
            RETURN value::timestamptz;
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END $$;
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION filter_timestamp(text); DROP FUNCTION filter_date(text);")
