"""Layers, features and feature history, with the triggers that keep history and versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GEOM = geoalchemy2.Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False)
_NOW = sa.text("now()")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "layers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("visibility", sa.String(16), nullable=False, server_default="public"),
        sa.Column("storage", sa.String(16), nullable=False, server_default="vector"),
        sa.Column("attribution", sa.Text),
        sa.Column("theme", sa.String(32)),
        sa.Column("property_schema", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("raster_path", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.CheckConstraint("slug ~ '^[a-z0-9][a-z0-9_-]*$'", name="layers_slug_format"),
        sa.CheckConstraint("visibility IN ('public', 'private')", name="layers_visibility"),
        sa.CheckConstraint("storage IN ('vector', 'raster')", name="layers_storage"),
    )
    op.create_table(
        "features",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "layer_id",
            sa.Integer,
            sa.ForeignKey("layers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.Text),
        sa.Column("properties", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("geom", _GEOM, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("created_by", sa.Text),
        sa.Column("updated_by", sa.Text),
    )
    # GiST on geometry alone plus a btree on layer: the planner combines them, and a bulk COPY
    # maintains them several times faster than one GiST over (layer_id, geom) via btree_gist.
    op.create_index("features_geom_gist", "features", ["geom"], postgresql_using="gist")
    op.create_index("features_layer", "features", ["layer_id"])
    op.create_table(
        "feature_history",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("feature_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("layer_id", sa.Integer, nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("operation", sa.String(8), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("properties", postgresql.JSONB, nullable=False),
        sa.Column("geom", _GEOM, nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("changed_by", sa.Text),
        sa.Column("replaced_by", sa.Text),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("message", sa.Text),
        sa.Column("result", postgresql.JSONB),
        sa.Column("error", postgresql.JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    # Every update or delete keeps the old row; an update also bumps the feature's version.
    op.execute(
        """
        CREATE FUNCTION features_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO feature_history (feature_id, layer_id, version, operation, name,
                                       properties, geom, valid_from, changed_by, replaced_by)
          VALUES (OLD.id, OLD.layer_id, OLD.version, lower(TG_OP), OLD.name, OLD.properties,
                  OLD.geom, OLD.updated_at, OLD.updated_by,
                  CASE WHEN TG_OP = 'UPDATE' THEN NEW.updated_by
                       ELSE current_setting('geo_service.user', true) END);
          IF TG_OP = 'UPDATE' THEN
            NEW.version := OLD.version + 1;
            NEW.updated_at := now();
            RETURN NEW;
          END IF;
          RETURN OLD;
        END $$;
        CREATE TRIGGER features_history BEFORE UPDATE OR DELETE ON features
          FOR EACH ROW EXECUTE FUNCTION features_keep_history();
        """
    )
    # Any write to a layer's features bumps the layer's version, once per statement, so tile
    # caches and ETags keyed on it can never serve a tile from before the write.
    op.execute(
        """
        CREATE FUNCTION layers_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            UPDATE layers SET version = version + 1, updated_at = now()
             WHERE id IN (SELECT DISTINCT layer_id FROM changed_old);
          ELSE
            UPDATE layers SET version = version + 1, updated_at = now()
             WHERE id IN (SELECT DISTINCT layer_id FROM changed_new);
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER features_bump_insert AFTER INSERT ON features
          REFERENCING NEW TABLE AS changed_new
          FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version();
        CREATE TRIGGER features_bump_update AFTER UPDATE ON features
          REFERENCING NEW TABLE AS changed_new
          FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version();
        CREATE TRIGGER features_bump_delete AFTER DELETE ON features
          REFERENCING OLD TABLE AS changed_old
          FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version();
        """
    )


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("feature_history")
    op.drop_table("features")
    op.drop_table("layers")
    op.execute("DROP FUNCTION IF EXISTS features_keep_history()")
    op.execute("DROP FUNCTION IF EXISTS layers_bump_version()")
