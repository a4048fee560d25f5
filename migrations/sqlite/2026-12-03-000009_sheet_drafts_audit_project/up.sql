-- An expert's score sheet in the making: seen by its author only and counted nowhere (not in
-- a panel's sheets, a ranking or a review's score) until the expert submits the sheet, which
-- replaces it. One per expert and bid (kind 'bid') or review (kind 'review').
CREATE TABLE sheet_drafts (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('bid', 'review')),
    subject_id  TEXT NOT NULL,
    expert_id   TEXT NOT NULL,
    points      TEXT NOT NULL,
    comment     TEXT NOT NULL,
    dissent     TEXT,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (kind, subject_id, expert_id)
);

-- The project an audit event belongs to, beside its own entity (a bid, an award, an
-- objection): `GET /audit?project_id=` reads a procurement's whole trail. NULL on events
-- before this column and on events of no project; part of the hash only when set, so the
-- chain written before it verifies unchanged.
ALTER TABLE audit_events ADD COLUMN project_id TEXT;
CREATE INDEX audit_events_project ON audit_events (project_id, seq);
