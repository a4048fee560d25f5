-- The expert pool, panel draws and seats, and score sheets.

CREATE TABLE experts (
    id                 TEXT PRIMARY KEY NOT NULL,
    user_id            TEXT NOT NULL UNIQUE REFERENCES users (id),
    name               TEXT NOT NULL,
    title              TEXT NOT NULL,
    specialties        TEXT NOT NULL,
    region_id          TEXT REFERENCES regions (id),
    -- Staff of this district's bureau: never drawn for its projects.
    bureau_district_id TEXT REFERENCES regions (id),
    created_at         TIMESTAMP NOT NULL
);

CREATE TABLE expert_relationships (
    id                TEXT PRIMARY KEY NOT NULL,
    expert_id         TEXT NOT NULL REFERENCES experts (id),
    organization_uscc TEXT NOT NULL,
    kind              TEXT NOT NULL,
    since             DATE NOT NULL,
    until             DATE,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX expert_relationships_expert ON expert_relationships (expert_id);
CREATE INDEX expert_relationships_uscc ON expert_relationships (organization_uscc);

-- The public inputs and outcome of each round's draw.
CREATE TABLE panel_draws (
    project_id     TEXT NOT NULL REFERENCES projects (id),
    round          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    eligible_ids   TEXT NOT NULL,
    receipts       TEXT NOT NULL,
    receipts_root  TEXT NOT NULL,
    drawn_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, round)
);

CREATE TABLE panel_seats (
    id             TEXT PRIMARY KEY NOT NULL,
    project_id     TEXT NOT NULL REFERENCES projects (id),
    round          INTEGER NOT NULL,
    expert_id      TEXT NOT NULL REFERENCES experts (id),
    position       INTEGER NOT NULL,
    status         TEXT NOT NULL,
    invited_at     TIMESTAMP,
    declaration    TEXT,
    decline_reason TEXT,
    responded_at   TIMESTAMP,
    created_at     TIMESTAMP NOT NULL
);
-- One seat per expert and round.
CREATE UNIQUE INDEX panel_seats_expert ON panel_seats (project_id, round, expert_id);
CREATE INDEX panel_seats_by_expert ON panel_seats (expert_id, id);

CREATE TABLE score_sheets (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    round        INTEGER NOT NULL,
    expert_id    TEXT NOT NULL REFERENCES experts (id),
    bid_id       TEXT NOT NULL REFERENCES bids (id),
    points       TEXT NOT NULL,
    comment      TEXT NOT NULL,
    dissent      TEXT,
    submitted_at TIMESTAMP NOT NULL
);
-- One sheet per panel member and bid; a submitted sheet is final.
CREATE UNIQUE INDEX score_sheets_one ON score_sheets (expert_id, bid_id);
CREATE INDEX score_sheets_project ON score_sheets (project_id, round);
