"""`features.whole` becomes a column its writer may set, computed by a trigger when it does not.

It was a generated column (0002): every row written had its validity tested by PostgreSQL,
although an import has just tested every geometry with the same GEOS (shapely, vectorised) and
repaired the invalid ones. Generated, it cost an import of 100,000 polygons 1.7 s of the
server's time out of 3.6 s. Now an INSERT that gives `whole` keeps it (the importer, see
store/bulk.py); one that does not, and every UPDATE of a geometry, gets it from the same
expression as before, by a row trigger whose WHEN clause spares the call when it is given.

Revision ID: 0011_whole_from_writer
Revises: 0010_country_risk_trade
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_whole_from_writer"
down_revision: str | None = "0010_country_risk_trade"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHOLE_EXPR = "NOT ST_IsEmpty({g}) AND ST_NPoints({g}) <= 256 AND ST_IsValid({g}, 0)"


def upgrade() -> None:
    op.execute("ALTER TABLE features ALTER COLUMN whole DROP EXPRESSION")
    op.execute(
        f"""
        CREATE FUNCTION features_whole() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.whole := {_WHOLE_EXPR.format(g="NEW.geom")};
          RETURN NEW;
        END $$;

        CREATE TRIGGER features_whole_insert BEFORE INSERT ON features
          FOR EACH ROW WHEN (NEW.whole IS NULL) EXECUTE FUNCTION features_whole();
        CREATE TRIGGER features_whole_update BEFORE UPDATE OF geom ON features
          FOR EACH ROW EXECUTE FUNCTION features_whole();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER features_whole_update ON features")
    op.execute("DROP TRIGGER features_whole_insert ON features")
    op.execute("DROP FUNCTION features_whole()")
    # A column cannot become generated again: it is made anew, and the view reading it too.
    view = op.get_bind().exec_driver_sql("SELECT pg_get_viewdef('feature_pieces')").scalar()
    op.execute("DROP VIEW feature_pieces")
    op.execute("ALTER TABLE features DROP COLUMN whole")
    op.execute(
        "ALTER TABLE features ADD COLUMN whole boolean GENERATED ALWAYS AS"
        f" ({_WHOLE_EXPR.format(g='geom')}) STORED"
    )
    op.execute(f"CREATE VIEW feature_pieces AS {view}")
