"""Simplified copies of large features for vector tiles, kept in step with features by triggers.

A tile at a low zoom draws a national park of 50,000 vertices with a few hundred: simplifying it
again for every tile and every request reads, reprojects and walks all 50,000. Each feature of
more than 1,000 vertices gets instead one copy per zoom band, in EPSG:3857 (the tiles' own
projection, so a tolerance in metres is exactly a fraction of a tile and no reprojection is left
for the request), simplified to one tile unit (1/4096 of a tile) at the band's highest zoom:
bands z0-3, z4-6, z7-9, z10-12; deeper tiles read the feature itself. `maxzoom` names the band
by that zoom, and a tile at zoom z reads the copy of the smallest maxzoom >= z, which is never
coarser than one unit of its own zoom.

Below 1,000 vertices a feature costs a tile some tens of microseconds to reproject and simplify,
about what looking a copy up would cost, and copying every parcel of a cadastre would double
imports for nothing; such features cost the triggers a boolean test and nothing else.
Simplification is Douglas-Peucker with collapsed rings kept (ST_Simplify(g, tol, true), as the
tile statement does): every kept vertex is a vertex of the feature, every dropped one lies within
the tolerance of the copy, and no island or hole vanishes, so a copy is within the tolerance of
its feature everywhere. The tile statement relies on this to decide which features a tile holds
without reading the full geometry of any but the few lying within a unit of the tile's edge.

Revision ID: 0003_tiles
Revises: 0002_analysis
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0003_tiles"
down_revision: str | None = "0002_analysis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MIN_VERTICES = 1000
_BANDS = "ARRAY[3, 6, 9, 12]::smallint[]"  # the highest zoom each copy serves
_UNIT_M = "40075016.68557849 / 4096 / 2 ^ maxzoom"  # one tile unit at that zoom, in metres

# `whole` (0002) is true only for at most 256 vertices, so testing it first spares small
# features from counting their vertices. Were it ever to mean otherwise, large features would
# merely lose their copies and tiles would read the features themselves: slower, not wrong.
# The inner OFFSET 0 reprojects each feature once for all its bands.
_COPIES_OF = f"""
    SELECT id, maxzoom, ST_Simplify(g, {_UNIT_M}, true)
      FROM (SELECT id, g, unnest({_BANDS}) AS maxzoom
              FROM (SELECT n.id, ST_Transform(n.geom, 3857) AS g
                      FROM {{source}}
                     WHERE NOT n.whole AND ST_Dimension(n.geom) > 0
                       AND ST_NPoints(n.geom) > {_MIN_VERTICES} AND {{where}}
                    OFFSET 0) t) b
"""
_INSERT = "INSERT INTO feature_simplified (feature_id, maxzoom, geom)"
_CHANGED = "ST_AsEWKB(n.geom) IS DISTINCT FROM ST_AsEWKB(o.geom)"
_UPDATED = "simplified_new n JOIN simplified_old o ON o.id = n.id"
_TRIGGERS = ("insert", "update", "delete", "truncate")


def upgrade() -> None:
    # No layer_id and no spatial index: tiles find features through the features' own indexes
    # (with the property filters) and then look their copy up by this primary key.
    op.create_table(
        "feature_simplified",
        sa.Column("feature_id", sa.BigInteger, primary_key=True),
        sa.Column("maxzoom", sa.SmallInteger, primary_key=True),
        sa.Column(
            "geom",
            geoalchemy2.Geometry(geometry_type="GEOMETRY", srid=3857, spatial_index=False),
            nullable=False,
        ),
    )
    op.execute(_INSERT + _COPIES_OF.format(source="features n", where="TRUE"))
    # Statement-level triggers with transition tables, as for feature_parts: an import of
    # 100,000 features is one set-based INSERT, not 100,000 trigger calls.
    op.execute(
        f"""
        CREATE FUNCTION feature_simplified_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_INSERT}
          {_COPIES_OF.format(source="simplified_new n", where="TRUE")};
          RETURN NULL;
        END $$;

        CREATE FUNCTION feature_simplified_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          -- Only rows whose geometry changed are simplified again; attribute edits and moves
          -- to another layer cost nothing.
          DELETE FROM feature_simplified s USING {_UPDATED}
           WHERE s.feature_id = o.id AND NOT o.whole AND {_CHANGED};
          {_INSERT}
          {_COPIES_OF.format(source=_UPDATED, where=_CHANGED)};
          RETURN NULL;
        END $$;

        CREATE FUNCTION feature_simplified_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM feature_simplified s USING simplified_old o
           WHERE s.feature_id = o.id AND NOT o.whole;
          RETURN NULL;
        END $$;

        CREATE FUNCTION feature_simplified_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          TRUNCATE feature_simplified;
          RETURN NULL;
        END $$;

        CREATE TRIGGER feature_simplified_insert AFTER INSERT ON features
          REFERENCING NEW TABLE AS simplified_new
          FOR EACH STATEMENT EXECUTE FUNCTION feature_simplified_insert();
        CREATE TRIGGER feature_simplified_update AFTER UPDATE ON features
          REFERENCING OLD TABLE AS simplified_old NEW TABLE AS simplified_new
          FOR EACH STATEMENT EXECUTE FUNCTION feature_simplified_update();
        CREATE TRIGGER feature_simplified_delete AFTER DELETE ON features
          REFERENCING OLD TABLE AS simplified_old
          FOR EACH STATEMENT EXECUTE FUNCTION feature_simplified_delete();
        CREATE TRIGGER feature_simplified_truncate AFTER TRUNCATE ON features
          FOR EACH STATEMENT EXECUTE FUNCTION feature_simplified_truncate();
        """
    )


def downgrade() -> None:
    for event in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS feature_simplified_{event} ON features")
        op.execute(f"DROP FUNCTION IF EXISTS feature_simplified_{event}()")
    op.drop_table("feature_simplified")
