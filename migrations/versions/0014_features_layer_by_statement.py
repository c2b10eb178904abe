"""A feature's layer is checked once per statement, not once per row.

The foreign key `features.layer_id -> layers.id` ran its check (a query locking the layer's
row) for every row written: 1.1 s of the server's 3.9 s when an import of 100,000 polygons
streams into `features` (bench/imports.py). The same rules are now kept by triggers that work
per statement, as the layer's version bump already did:

- an INSERT or UPDATE of features bumps the version of every layer its rows name (0001),
  which locks those rows as the key check did; a layer id that matched no row raises the
  error the foreign key raised (23503, foreign_key_violation), and the statement is undone;
- deleting a layer deletes its features after the row is gone (as ON DELETE CASCADE did, and
  after waiting for a writer that still holds the layer's row, whose features it then sees);
- TRUNCATE of layers takes features (and what hangs on them) with it.

Revision ID: 0014_features_layer_by_statement
Revises: 0013_sensitivity
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_features_layer_by_statement"
down_revision: str | None = "0013_sensitivity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP_0001 = """
CREATE OR REPLACE FUNCTION layers_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""


def upgrade() -> None:
    op.execute("ALTER TABLE features DROP CONSTRAINT features_layer_id_fkey")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION layers_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          missing integer;
        BEGIN
          IF TG_OP = 'DELETE' THEN
            UPDATE layers SET version = version + 1, updated_at = now()
             WHERE id IN (SELECT DISTINCT layer_id FROM changed_old);
            RETURN NULL;
          END IF;
          -- The rows' layers, bumped and so locked against a concurrent delete; one that no
          -- longer (or never) existed is what the foreign key refused.
          WITH named AS (SELECT DISTINCT layer_id FROM changed_new),
               bumped AS (UPDATE layers SET version = version + 1, updated_at = now()
                           WHERE id IN (SELECT layer_id FROM named) RETURNING id)
          SELECT min(n.layer_id) INTO missing
            FROM named n WHERE n.layer_id NOT IN (SELECT id FROM bumped);
          IF missing IS NOT NULL THEN
            RAISE foreign_key_violation USING
              MESSAGE = format('insert or update on table "features" violates the layer check:'
                               ' layer %s does not exist', missing),
              TABLE = 'features', COLUMN = 'layer_id';
          END IF;
          RETURN NULL;
        END $$;

        CREATE FUNCTION layers_delete_features() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'TRUNCATE' THEN
            DELETE FROM features;  -- not TRUNCATE: the tables it would cascade to are in use
          ELSE
            DELETE FROM features WHERE layer_id = OLD.id;
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER layers_delete_features AFTER DELETE ON layers
          FOR EACH ROW EXECUTE FUNCTION layers_delete_features();
        CREATE TRIGGER layers_truncate_features AFTER TRUNCATE ON layers
          FOR EACH STATEMENT EXECUTE FUNCTION layers_delete_features();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER layers_truncate_features ON layers")
    op.execute("DROP TRIGGER layers_delete_features ON layers")
    op.execute("DROP FUNCTION layers_delete_features()")
    op.execute(_BUMP_0001)
    op.execute(
        "ALTER TABLE features ADD CONSTRAINT features_layer_id_fkey FOREIGN KEY (layer_id)"
        " REFERENCES layers (id) ON DELETE CASCADE"
    )
