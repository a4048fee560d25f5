-- Back to bids that name their organization in clear: refused (NOT NULL) while any bid is
-- still sealed under a keyed hash.
PRAGMA foreign_keys = OFF;
BEGIN;
ALTER TABLE outbox DROP COLUMN sealed;
DROP TABLE sealed_events;
CREATE TABLE bids_old (
    id                   TEXT PRIMARY KEY NOT NULL,
    project_id           TEXT NOT NULL REFERENCES projects (id),
    round                INTEGER NOT NULL,
    organization_id      TEXT NOT NULL REFERENCES organizations (id),
    status               TEXT NOT NULL,
    sealed               TEXT,
    contents             TEXT,
    price_fen            BIGINT,
    credentials          TEXT NOT NULL,
    receipt_sha256       TEXT NOT NULL,
    received_at          TIMESTAMP NOT NULL,
    disqualified_reasons TEXT NOT NULL DEFAULT '[]',
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
INSERT INTO bids_old
SELECT id, project_id, round, organization_id, status, sealed, contents, price_fen,
       credentials, receipt_sha256, received_at, disqualified_reasons, version, created_at,
       updated_at
FROM bids;
DROP TABLE bids;
ALTER TABLE bids_old RENAME TO bids;
CREATE UNIQUE INDEX bids_one_live ON bids (project_id, round, organization_id) WHERE status <> 'withdrawn';
CREATE INDEX bids_project_round ON bids (project_id, round, id);
CREATE INDEX bids_organization ON bids (organization_id, id);
COMMIT;
PRAGMA foreign_keys = ON;
