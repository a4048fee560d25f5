-- Sealed means sealed in a database copy too (DESIGN.md § Bids, § Audit): until its round
-- opens a bid row names no organization and holds no credentials in clear, only
-- `bidder_key`, a keyed hash of (organization, project) under the sealing key that keeps the
-- one-live-bid index and the bidder's own reads; the organization and the frozen credentials
-- are written at the opening. A sealed bid's audit events wait in `sealed_events` (not in the
-- chain, so no sequence number or chain length tells of them) and enter the chain at the
-- opening; a sealed mail's recipient, subject and body are sealed in the outbox and emptied
-- once sent.
ALTER TABLE bids ALTER COLUMN organization_id DROP NOT NULL;
ALTER TABLE bids ALTER COLUMN credentials DROP NOT NULL;
ALTER TABLE bids ADD COLUMN bidder_key TEXT;
-- Rows from before: their organization stays in clear (they were written so); the key names
-- it plainly and the code reads either.
UPDATE bids SET bidder_key = 'org:' || organization_id;
ALTER TABLE bids ALTER COLUMN bidder_key SET NOT NULL;
DROP INDEX bids_one_live;
CREATE UNIQUE INDEX bids_one_live ON bids (project_id, round, bidder_key) WHERE status <> 'withdrawn';
CREATE INDEX bids_bidder ON bids (project_id, bidder_key, id);

CREATE TABLE sealed_events (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id),
    round      INTEGER NOT NULL,
    at         TIMESTAMP NOT NULL,
    sealed     TEXT NOT NULL
);
CREATE INDEX sealed_events_round ON sealed_events (project_id, round, at, id);

ALTER TABLE outbox ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
