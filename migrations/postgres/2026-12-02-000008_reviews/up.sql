-- Mid-term and completion reviews of active contracts (DESIGN.md, "Reviews"): each with its
-- panel (drawn like an evaluation panel, seeded by the review's id), the organization's report,
-- the experts' rubric sheets, and the residents' satisfaction surveys of the contract.
CREATE TABLE reviews (
    id                  TEXT PRIMARY KEY NOT NULL,
    contract_id         TEXT NOT NULL REFERENCES contracts (id),
    project_id          TEXT NOT NULL,
    district_id         TEXT NOT NULL,
    organization_id     TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('midterm', 'completion')),
    attempt             INTEGER NOT NULL CHECK (attempt IN (1, 2)),
    due_on              DATE NOT NULL,
    opens_on            DATE NOT NULL,
    status              TEXT NOT NULL,
    -- The rule pack's rubric, weight and bands when the review was scheduled (JSON).
    rules               TEXT NOT NULL,
    panel_size          INTEGER NOT NULL,
    -- The draw: the eligible experts (JSON, sorted) and the receipts it was seeded with.
    eligible_ids        TEXT,
    receipts            TEXT,
    report              TEXT,
    reported_at         TIMESTAMP,
    reported_by         TEXT,
    satisfaction_rate   TEXT,
    score_cents         BIGINT CHECK (score_cents BETWEEN 0 AND 10000),
    grade               TEXT,
    outcome_reason      TEXT,
    opened_at           TIMESTAMP,
    finalized_at        TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    UNIQUE (contract_id, kind, attempt)
);
CREATE INDEX reviews_status ON reviews (status, opens_on);
CREATE INDEX reviews_district ON reviews (district_id, id);
CREATE INDEX reviews_organization ON reviews (organization_id, id);

CREATE TABLE review_seats (
    id              TEXT PRIMARY KEY NOT NULL,
    review_id       TEXT NOT NULL REFERENCES reviews (id),
    expert_id       TEXT NOT NULL,
    position        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    invited_at      TIMESTAMP,
    declaration     TEXT,
    decline_reason  TEXT,
    responded_at    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (review_id, expert_id),
    UNIQUE (review_id, position)
);
CREATE INDEX review_seats_expert ON review_seats (expert_id, id);

-- One sheet per panel member and review, final once written.
CREATE TABLE review_sheets (
    id            TEXT PRIMARY KEY NOT NULL,
    review_id     TEXT NOT NULL REFERENCES reviews (id),
    expert_id     TEXT NOT NULL,
    points        TEXT NOT NULL,
    comment       TEXT NOT NULL,
    submitted_at  TIMESTAMP NOT NULL,
    UNIQUE (review_id, expert_id)
);

CREATE TABLE satisfaction_surveys (
    id           TEXT PRIMARY KEY NOT NULL,
    contract_id  TEXT NOT NULL REFERENCES contracts (id),
    respondents  INTEGER NOT NULL CHECK (respondents >= 1),
    satisfied    INTEGER NOT NULL CHECK (satisfied >= 0 AND satisfied <= respondents),
    method       TEXT NOT NULL CHECK (method IN ('questionnaire', 'interview', 'phone', 'online')),
    surveyed_on  DATE NOT NULL,
    recorded_by  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX satisfaction_surveys_contract ON satisfaction_surveys (contract_id, created_at);
