-- Sealed means sealed in a database copy too (DESIGN.md § Bids, § Audit): until its round
-- opens a bid row names no organization and holds no credentials in clear, only
-- `bidder_key`, a keyed hash of (organization, project) under the sealing key that keeps the
-- one-live-bid index and the bidder's own reads; the organization and the frozen credentials
-- are written at the opening. A sealed bid's audit events wait in `sealed_events` (not in the
-- chain, so no sequence number or chain length tells of them) and enter the chain at the
-- opening; a sealed mail's recipient, subject and body are sealed in the outbox and emptied
-- once sent.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE bids_new (
    id                   TEXT PRIMARY KEY NOT NULL,
    project_id           TEXT NOT NULL REFERENCES projects (id),
    round                INTEGER NOT NULL,
    organization_id      TEXT REFERENCES organizations (id),
    status               TEXT NOT NULL,
    sealed               TEXT,
    contents             TEXT,
    price_fen            BIGINT,
    credentials          TEXT,
    receipt_sha256       TEXT NOT NULL,
    received_at          TIMESTAMP NOT NULL,
    disqualified_reasons TEXT NOT NULL DEFAULT '[]',
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    bidder_key           TEXT NOT NULL
);
-- Rows from before: their organization stays in clear (they were written so); the key names
-- it plainly and the code reads either.
INSERT INTO bids_new
SELECT id, project_id, round, organization_id, status, sealed, contents, price_fen,
       credentials, receipt_sha256, received_at, disqualified_reasons, version, created_at,
       updated_at, 'org:' || organization_id
FROM bids;
DROP TABLE bids;
ALTER TABLE bids_new RENAME TO bids;
CREATE UNIQUE INDEX bids_one_live ON bids (project_id, round, bidder_key) WHERE status <> 'withdrawn';
CREATE INDEX bids_project_round ON bids (project_id, round, id);
CREATE INDEX bids_bidder ON bids (project_id, bidder_key, id);
CREATE INDEX bids_organization ON bids (organization_id, id);

CREATE TABLE sealed_events (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id),
    round      INTEGER NOT NULL,
    at         TIMESTAMP NOT NULL,
    sealed     TEXT NOT NULL
);
CREATE INDEX sealed_events_round ON sealed_events (project_id, round, at, id);

ALTER TABLE outbox ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
COMMIT;
PRAGMA foreign_keys = ON;
