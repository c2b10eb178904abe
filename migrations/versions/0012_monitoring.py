"""Site monitoring register (issue 18): visits, photos, site status history, incidents, risks,
corrective actions and their progress.

Sites are features of any layer (normally mine_site), referenced by (layer_id, feature_id) and
dropped with them. `site_statuses` keeps every change with the day it took effect: a row sets
only the fields it gives, and the state on a day takes, per field, the latest row by then.
`action_progress` is the history of an action's status, so an older status can be read back.
`entry_key` (unique) is the key a field form sends with each entry, so that a resend of an
entry the server already stored writes nothing.

Revision ID: 0012_monitoring
Revises: 0011_whole_from_writer
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_monitoring"
down_revision: str | None = "0011_whole_from_writer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SITE = """
    layer_id integer NOT NULL REFERENCES layers(id) ON DELETE CASCADE,
    feature_id bigint NOT NULL REFERENCES features(id) ON DELETE CASCADE"""
_WHO = """
    recorded_by text,
    recorded_at timestamptz NOT NULL DEFAULT now()"""

_TABLES = f"""
CREATE TABLE monitoring_visits (
    id bigserial PRIMARY KEY,{_SITE},
    visited_on date NOT NULL,
    team text,
    observations text,
    workers integer CHECK (workers >= 0),
    women integer CHECK (women >= 0),
    children integer CHECK (children >= 0),
    methods text[] NOT NULL DEFAULT '{{}}'
        CHECK (methods <@ ARRAY['mercury', 'gravity']::text[]),
    armed_actors boolean,
    state_actors boolean,
    position geometry(Point, 4326),
    entry_key text UNIQUE,{_WHO}
);
CREATE INDEX monitoring_visits_site ON monitoring_visits (layer_id, feature_id, visited_on);
CREATE TABLE monitoring_photos (
    id bigserial PRIMARY KEY,
    visit_id bigint NOT NULL REFERENCES monitoring_visits(id) ON DELETE CASCADE,
    content_type text NOT NULL,
    size_bytes integer NOT NULL,
    sha256 text NOT NULL,
    stored_path text NOT NULL,
    thumbnail bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitoring_photos_visit ON monitoring_photos (visit_id);
CREATE TABLE site_statuses (
    id bigserial PRIMARY KEY,{_SITE},
    effective_on date NOT NULL,
    qualification text CHECK (qualification IN ('green', 'yellow', 'red', 'not_assessed')),
    operating text CHECK (operating IN
        ('active', 'inactive', 'suspended', 'closed_by_authority', 'reopened')),
    scheme text,
    comment text,{_WHO},
    CHECK (num_nonnulls(qualification, operating, scheme) > 0)
);
CREATE INDEX site_statuses_site ON site_statuses (layer_id, feature_id, effective_on);
CREATE TABLE incidents (
    id bigserial PRIMARY KEY,{_SITE},
    occurred_on date NOT NULL,
    category text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    description text,
    reported_by text,
    position geometry(Point, 4326),
    entry_key text UNIQUE,
    verification text NOT NULL DEFAULT 'unverified'
        CHECK (verification IN ('unverified', 'verified', 'rejected')),
    verified_by text,
    verified_at timestamptz,
    verification_comment text,{_WHO}
);
CREATE INDEX incidents_site ON incidents (layer_id, feature_id, occurred_on);
CREATE INDEX incidents_day ON incidents (occurred_on);
CREATE TABLE risks (
    id bigserial PRIMARY KEY,
    incident_id bigint NOT NULL UNIQUE REFERENCES incidents(id) ON DELETE CASCADE,
    severity smallint NOT NULL CHECK (severity BETWEEN 1 AND 5),
    likelihood smallint NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    rated_by text,
    rated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE corrective_actions (
    id bigserial PRIMARY KEY,{_SITE},
    incident_id bigint REFERENCES incidents(id) ON DELETE SET NULL,
    stakeholder text NOT NULL,
    description text NOT NULL,
    recommended_on date NOT NULL,
    due_on date,
    status text NOT NULL DEFAULT 'recommended'
        CHECK (status IN ('recommended', 'in_progress', 'done')),{_WHO}
);
CREATE INDEX corrective_actions_site ON corrective_actions (layer_id, feature_id);
CREATE TABLE action_progress (
    id bigserial PRIMARY KEY,
    action_id bigint NOT NULL REFERENCES corrective_actions(id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('recommended', 'in_progress', 'done')),
    effective_on date NOT NULL,
    comment text,{_WHO}
);
CREATE INDEX action_progress_action ON action_progress (action_id, effective_on);
"""


def upgrade() -> None:
    op.execute(_TABLES)


def downgrade() -> None:
    op.execute(
        "DROP TABLE action_progress, corrective_actions, risks, incidents, site_statuses, "
        "monitoring_photos, monitoring_visits"
    )
