-- The open-data feed (issue 14): one OCDS release per public state change of a project round,
-- rendered in the transaction that made the change and numbered by that change's audit event
-- (`seq`), so the feed is in commit order and a reader paging by `seq` misses nothing that
-- commits later. Insert-only. `body` is the release without `ocid` and `id`, which the reader
-- adds from the configured prefix.
CREATE TABLE ocds_releases (
    seq BIGINT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    date TIMESTAMP NOT NULL,
    tag TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX ocds_releases_project ON ocds_releases (project_id, seq);
CREATE INDEX ocds_releases_date ON ocds_releases (date, seq);
