-- Awards and objections (中标公告 / 质疑).

CREATE TABLE awards (
    id                 TEXT PRIMARY KEY NOT NULL,
    project_id         TEXT NOT NULL REFERENCES projects (id),
    round              INTEGER NOT NULL,
    bid_id             TEXT NOT NULL REFERENCES bids (id),
    organization_id    TEXT NOT NULL REFERENCES organizations (id),
    amount_fen         BIGINT NOT NULL,
    justification      TEXT,
    objection_deadline TIMESTAMP NOT NULL,
    status             TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    finalized_at       TIMESTAMP
);
-- One award per project round that is not revoked.
CREATE UNIQUE INDEX awards_one_live ON awards (project_id, round) WHERE status <> 'revoked';
CREATE INDEX awards_due ON awards (status, objection_deadline);

CREATE TABLE objections (
    id              TEXT PRIMARY KEY NOT NULL,
    award_id        TEXT NOT NULL REFERENCES awards (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    grounds         TEXT NOT NULL,
    status          TEXT NOT NULL,
    reply           TEXT,
    filed_by        TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    resolved_by     TEXT,
    resolved_at     TIMESTAMP
);
CREATE INDEX objections_award ON objections (award_id, status);
