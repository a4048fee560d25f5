-- Social organizations and sealed bids.

CREATE TABLE organizations (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    uscc              TEXT NOT NULL UNIQUE,
    org_type          TEXT NOT NULL,
    registered_on     DATE NOT NULL,
    rating            TEXT,
    rating_awarded_on DATE,
    social_workers    INTEGER NOT NULL,
    district_id       TEXT NOT NULL REFERENCES regions (id),
    contact_email     TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_reason     TEXT,
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX organizations_status ON organizations (status, id);
CREATE INDEX organizations_district ON organizations (district_id, id);

-- A bid's contents are sealed (AEAD, key outside the database) until its round closes; then
-- they are opened into `contents` and `price_fen`.
CREATE TABLE bids (
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
-- One live bid per organization, project and round.
CREATE UNIQUE INDEX bids_one_live ON bids (project_id, round, organization_id) WHERE status <> 'withdrawn';
CREATE INDEX bids_project_round ON bids (project_id, round, id);
CREATE INDEX bids_organization ON bids (organization_id, id);
