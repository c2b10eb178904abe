"""Access keys, layer sharing, job owners and the audit log.

Keys are stored as the SHA-256 of the secret (a secret is 32 random bytes, so a fast hash is
as safe as a slow one) with the first characters kept to tell keys apart in listings.
Layers become public, internal (any key) or private (their owner, the keys and groups they are
shared with, and admins). Every write to a feature leaves an audit row, written by a trigger so
that no path can skip it: who (the key named in the transaction's `geo_service.actor`, set by
the service from the authenticated key, never from a request header), when, what it was before
and what it became, and the comment given with the change. Bulk imports set `geo_service.bulk`
and write one audit row for the whole import instead of one per feature.

Revision ID: 0004_access
Revises: 0003_tiles
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_access"
down_revision: str | None = "0003_tiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")
_TEXTS = postgresql.ARRAY(sa.Text)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("groups", _TEXTS, nullable=False, server_default="{}"),
        sa.Column("layers", _TEXTS),
        sa.Column("origins", _TEXTS),
        sa.Column("tiles_only", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("created_by", sa.Text),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="api_keys_role"),
    )
    op.drop_constraint("layers_visibility", "layers")
    op.create_check_constraint(
        "layers_visibility", "layers", "visibility IN ('public', 'internal', 'private')"
    )
    op.add_column("layers", sa.Column("owner", sa.Text))
    op.add_column("layers", sa.Column("shared_with", _TEXTS, nullable=False, server_default="{}"))
    op.add_column("layers", sa.Column("shared_groups", _TEXTS, nullable=False, server_default="{}"))
    op.add_column("jobs", sa.Column("owner", sa.Text))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("role", sa.String(16)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("layer_id", sa.Integer),
        sa.Column("layer_slug", sa.Text),
        sa.Column("feature_id", sa.BigInteger),
        sa.Column("version_before", sa.Integer),
        sa.Column("version_after", sa.Integer),
        sa.Column("before", postgresql.JSONB),
        sa.Column("after", postgresql.JSONB),
        sa.Column("comment", sa.Text),
        sa.Column("details", postgresql.JSONB),
    )
    op.create_index("audit_log_feature", "audit_log", ["layer_id", "feature_id", "id"])
    op.create_index("audit_log_at", "audit_log", ["at"])
    op.execute(
        """
        CREATE FUNCTION geo_service_actor() RETURNS text LANGUAGE sql STABLE AS $$
          SELECT coalesce(nullif(current_setting('geo_service.actor', true), ''),
                          'database:' || session_user)
        $$;
        CREATE FUNCTION features_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          old_doc jsonb;
          new_doc jsonb;
          what text := nullif(current_setting('geo_service.action', true), '');
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            old_doc := jsonb_build_object('name', OLD.name, 'properties', OLD.properties,
                                          'geometry', ST_AsGeoJSON(OLD.geom, 7)::jsonb);
          END IF;
          IF TG_OP <> 'DELETE' THEN
            new_doc := jsonb_build_object('name', NEW.name, 'properties', NEW.properties,
                                          'geometry', ST_AsGeoJSON(NEW.geom, 7)::jsonb);
          END IF;
          IF what IS NULL THEN
            what := CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'DELETE' THEN 'delete'
                      ELSE CASE WHEN OLD.properties -> 'status' IS DISTINCT FROM
                                     NEW.properties -> 'status'
                                THEN 'status' ELSE 'update' END END;
          END IF;
          INSERT INTO audit_log (actor, role, action, layer_id, layer_slug, feature_id,
                                 version_before, version_after, before, after, comment)
          VALUES (geo_service_actor(),
                  nullif(current_setting('geo_service.role', true), ''),
                  what,
                  coalesce(NEW.layer_id, OLD.layer_id),
                  (SELECT slug FROM layers WHERE id = coalesce(NEW.layer_id, OLD.layer_id)),
                  coalesce(NEW.id, OLD.id),
                  CASE WHEN TG_OP <> 'INSERT' THEN OLD.version END,
                  CASE WHEN TG_OP <> 'DELETE' THEN NEW.version END,
                  old_doc, new_doc,
                  nullif(current_setting('geo_service.comment', true), ''));
          RETURN NULL;
        END $$;
        CREATE TRIGGER features_audit AFTER INSERT OR UPDATE OR DELETE ON features
          FOR EACH ROW
          WHEN (coalesce(current_setting('geo_service.bulk', true), '') <> 'on')
          EXECUTE FUNCTION features_audit();
        """
    )
    op.execute(_keep_history("geo_service_actor()"))


def _keep_history(deleted_by: str) -> str:
    """The history trigger of 0001, naming who deleted a feature by `deleted_by`."""
    return f"""
        CREATE OR REPLACE FUNCTION features_keep_history() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO feature_history (feature_id, layer_id, version, operation, name,
                                       properties, geom, valid_from, changed_by, replaced_by)
          VALUES (OLD.id, OLD.layer_id, OLD.version, lower(TG_OP), OLD.name, OLD.properties,
                  OLD.geom, OLD.updated_at, OLD.updated_by,
                  CASE WHEN TG_OP = 'UPDATE' THEN NEW.updated_by ELSE {deleted_by} END);
          IF TG_OP = 'UPDATE' THEN
            NEW.version := OLD.version + 1;
            NEW.updated_at := now();
            RETURN NEW;
          END IF;
          RETURN OLD;
        END $$;
    """


def downgrade() -> None:
    op.execute(_keep_history("current_setting('geo_service.user', true)"))
    op.execute("DROP TRIGGER IF EXISTS features_audit ON features")
    op.execute("DROP FUNCTION IF EXISTS features_audit()")
    op.execute("DROP FUNCTION IF EXISTS geo_service_actor()")
    op.drop_table("audit_log")
    op.drop_column("jobs", "owner")
    op.drop_column("layers", "shared_groups")
    op.drop_column("layers", "shared_with")
    op.drop_column("layers", "owner")
    op.execute("UPDATE layers SET visibility = 'private' WHERE visibility = 'internal'")
    op.drop_constraint("layers_visibility", "layers")
    op.create_check_constraint("layers_visibility", "layers", "visibility IN ('public', 'private')")
    op.drop_table("api_keys")
