ALTER TABLE outbox DROP COLUMN sealed;
DROP TABLE sealed_events;
DROP INDEX bids_bidder;
DROP INDEX bids_one_live;
CREATE UNIQUE INDEX bids_one_live ON bids (project_id, round, organization_id) WHERE status <> 'withdrawn';
ALTER TABLE bids DROP COLUMN bidder_key;
ALTER TABLE bids ALTER COLUMN credentials SET NOT NULL;
ALTER TABLE bids ALTER COLUMN organization_id SET NOT NULL;
