"""A subdivided copy of features for analyses, kept in step with features by triggers.

National parks of 50,000 vertices make every intersection and distance slow; cut into pieces of
at most 256 vertices (ST_Subdivide) each piece has a small bounding box, so the GiST index finds
only the pieces near a query and each geometric test touches few vertices. Only features that
need it are cut (more than 256 vertices, or invalid): a small valid feature would be its own
single piece, and copying 100,000 parcels of an import would double its cost for nothing. The
view `feature_pieces` reads both: the pieces, and the small valid features as they are.

Revision ID: 0002_analysis
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0002_analysis"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GEOM = geoalchemy2.Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False)
_MAX_VERTICES = 256

# Which features are read whole by analyses: few vertices, valid, not empty. Stored as a generated
# column, computed once when a geometry is written, so that neither the cutting trigger nor the
# `feature_pieces` view re-tests validity of a 5,000-vertex park at every probe, and the planner
# has plain column statistics for it. ST_IsValid(g, 0): the same answer, without a NOTICE per
# invalid geometry. Invalid features are cut at any size so analyses only meet valid pieces.
_WHOLE_EXPR = (
    f"NOT ST_IsEmpty(geom) AND ST_NPoints(geom) <= {_MAX_VERTICES} AND ST_IsValid(geom, 0)"
)
_CUT = "NOT n.whole"

# Pieces of a feature: made valid first (an invalid polygon never breaks an analysis), polygons
# keep only their polygonal part (make_valid may add slivers of lines), then subdivided. Each
# piece keeps its geodesic area, so a feature's area is a sum over an index instead of a
# spheroidal computation over 50,000 vertices in every analysis that asks for a percentage.
_PARTS_OF = f"""
    SELECT id, layer_id, g, CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography) ELSE 0 END
      FROM (SELECT n.id, n.layer_id,
                   ST_Subdivide(CASE WHEN ST_Dimension(n.geom) = 2
                                     THEN ST_CollectionExtract(ST_MakeValid(n.geom), 3)
                                     ELSE ST_MakeValid(n.geom) END, {_MAX_VERTICES}) AS g
              FROM {{source}}
             WHERE n.geom IS NOT NULL AND NOT ST_IsEmpty(n.geom) AND {_CUT} AND {{where}}) cut
"""
# Every feature as pieces for analyses: its parts when cut, else itself with its geodesic area
# computed on the way, which for at most 256 vertices is cheap. The choice is a column filtered
# outside the UNION ALL, not a WHERE inside it: PostgreSQL flattens a UNION ALL whose branches
# have no WHERE into an append of the two tables, and only then can a join reach each table's
# GiST index with the other side's geometry (parameterised scans).
_PIECES = """
    CREATE VIEW feature_pieces AS
    SELECT feature_id, layer_id, geom, area_m2
      FROM (SELECT feature_id, layer_id, geom, area_m2, TRUE AS whole FROM feature_parts
            UNION ALL
            SELECT f.id, f.layer_id, f.geom,
                   CASE WHEN ST_Dimension(f.geom) = 2 THEN ST_Area(f.geom::geography) ELSE 0 END,
                   f.whole
              FROM features f) pieces
     WHERE whole
"""
_INSERT = "INSERT INTO feature_parts (feature_id, layer_id, geom, area_m2)"
_CHANGED = "(n.layer_id <> o.layer_id OR ST_AsEWKB(n.geom) IS DISTINCT FROM ST_AsEWKB(o.geom))"


def upgrade() -> None:
    op.create_table(
        "feature_parts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("feature_id", sa.BigInteger, nullable=False),
        sa.Column("layer_id", sa.Integer, nullable=False),
        sa.Column("geom", _GEOM, nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("feature_parts_geom_gist", "feature_parts", ["geom"], postgresql_using="gist")
    op.create_index("feature_parts_layer", "feature_parts", ["layer_id"])
    op.create_index("feature_parts_feature", "feature_parts", ["feature_id"])
    op.execute(
        f"ALTER TABLE features ADD COLUMN whole boolean GENERATED ALWAYS AS ({_WHOLE_EXPR}) STORED"
    )
    op.execute(_INSERT + _PARTS_OF.format(source="features n", where="TRUE"))
    op.execute(_PIECES)
    # Statement-level triggers with transition tables: a COPY of 100,000 features subdivides in
    # one set-based INSERT instead of 100,000 trigger calls.
    op.execute(
        f"""
        CREATE FUNCTION feature_parts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_INSERT}
          {_PARTS_OF.format(source="parts_new n", where="TRUE")};
          RETURN NULL;
        END $$;

        CREATE FUNCTION feature_parts_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          -- Only rows whose geometry or layer changed are cut again; attribute edits cost nothing.
          DELETE FROM feature_parts p USING parts_new n JOIN parts_old o ON o.id = n.id
           WHERE p.feature_id = o.id AND {_CHANGED};
          {_INSERT}
          {_PARTS_OF.format(source="parts_new n JOIN parts_old o ON o.id = n.id", where=_CHANGED)};
          RETURN NULL;
        END $$;

        CREATE FUNCTION feature_parts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM feature_parts p USING parts_old o WHERE p.feature_id = o.id;
          RETURN NULL;
        END $$;

        CREATE FUNCTION feature_parts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          TRUNCATE feature_parts;
          RETURN NULL;
        END $$;

        CREATE TRIGGER feature_parts_insert AFTER INSERT ON features
          REFERENCING NEW TABLE AS parts_new
          FOR EACH STATEMENT EXECUTE FUNCTION feature_parts_insert();
        CREATE TRIGGER feature_parts_update AFTER UPDATE ON features
          REFERENCING OLD TABLE AS parts_old NEW TABLE AS parts_new
          FOR EACH STATEMENT EXECUTE FUNCTION feature_parts_update();
        CREATE TRIGGER feature_parts_delete AFTER DELETE ON features
          REFERENCING OLD TABLE AS parts_old
          FOR EACH STATEMENT EXECUTE FUNCTION feature_parts_delete();
        CREATE TRIGGER feature_parts_truncate AFTER TRUNCATE ON features
          FOR EACH STATEMENT EXECUTE FUNCTION feature_parts_truncate();
        """
    )
    # A box in degrees around `g` that holds every point within `m` metres of it (geodesic), so
    # that a geography ST_DWithin can be preceded by an indexable `&&` on geometry. A degree of
    # latitude is at least 110,574 m; a degree of longitude shrinks with the cosine of the
    # highest latitude reached, and near the poles the box spans every longitude.
    op.execute(
        """
        CREATE FUNCTION geo_expand_m(g geometry, m double precision) RETURNS geometry
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT ST_Expand(
            g,
            CASE WHEN greatest(abs(ST_YMin(g)), abs(ST_YMax(g))) + m / 110574.0 >= 89.0 THEN 360.0
                 ELSE m / (111319.0 * cos(radians(
                        greatest(abs(ST_YMin(g)), abs(ST_YMax(g))) + m / 110574.0))) * 1.001
            END,
            m / 110574.0 * 1.001)
        $$;
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS feature_parts_insert ON features")
    op.execute("DROP TRIGGER IF EXISTS feature_parts_update ON features")
    op.execute("DROP TRIGGER IF EXISTS feature_parts_delete ON features")
    op.execute("DROP TRIGGER IF EXISTS feature_parts_truncate ON features")
    op.execute("DROP FUNCTION IF EXISTS feature_parts_insert()")
    op.execute("DROP FUNCTION IF EXISTS feature_parts_update()")
    op.execute("DROP FUNCTION IF EXISTS feature_parts_delete()")
    op.execute("DROP FUNCTION IF EXISTS feature_parts_truncate()")
    op.execute("DROP FUNCTION IF EXISTS geo_expand_m(geometry, double precision)")
    op.execute("DROP VIEW IF EXISTS feature_pieces")
    op.drop_table("feature_parts")
    op.execute("ALTER TABLE features DROP COLUMN whole")
