-- Needs, funds with their insert-only ledger, projects, and the working-day calendar.

CREATE TABLE needs (
    id                TEXT PRIMARY KEY NOT NULL,
    community_id      TEXT NOT NULL REFERENCES regions (id),
    street_id         TEXT NOT NULL,
    district_id       TEXT NOT NULL,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    category          TEXT NOT NULL,
    source            TEXT NOT NULL,
    external_ref      TEXT,
    beneficiary_group TEXT NOT NULL,
    beneficiaries     BIGINT NOT NULL,
    urgency           TEXT NOT NULL,
    urgency_rank      INTEGER NOT NULL,
    supporters        BIGINT NOT NULL DEFAULT 0,
    status            TEXT NOT NULL,
    status_reason     TEXT,
    merged_into       TEXT REFERENCES needs (id),
    project_id        TEXT,
    created_by        TEXT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
-- The guide list: a district's accepted needs by supporters, then urgency.
CREATE INDEX needs_guide ON needs (district_id, status, supporters, urgency_rank, id);
CREATE INDEX needs_district_newest ON needs (district_id, id);
CREATE INDEX needs_street_newest ON needs (street_id, id);
CREATE INDEX needs_community_newest ON needs (community_id, id);
CREATE INDEX needs_status_newest ON needs (status, id);
CREATE INDEX needs_external_ref ON needs (source, external_ref);

CREATE TABLE funds (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    district_id TEXT NOT NULL REFERENCES regions (id),
    fiscal_year INTEGER NOT NULL,
    source      TEXT NOT NULL,
    total_fen   BIGINT NOT NULL CHECK (total_fen > 0),
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX funds_name ON funds (district_id, fiscal_year, name);

-- Every money move; balances are sums over it. A correction is a reversing entry.
CREATE TABLE fund_ledger (
    id          TEXT PRIMARY KEY NOT NULL,
    fund_id     TEXT NOT NULL REFERENCES funds (id),
    kind        TEXT NOT NULL CHECK (kind IN ('reserve', 'unreserve', 'commit', 'uncommit', 'release')),
    amount_fen  BIGINT NOT NULL CHECK (amount_fen > 0),
    project_id  TEXT,
    contract_id TEXT,
    tranche_id  TEXT,
    -- What the entry is for, once: a retried transaction cannot move the money twice.
    ref_key     TEXT NOT NULL UNIQUE,
    actor_id    TEXT,
    at          TIMESTAMP NOT NULL
);
CREATE INDEX fund_ledger_fund ON fund_ledger (fund_id, id);
CREATE UNIQUE INDEX fund_ledger_tranche_kind ON fund_ledger (tranche_id, kind) WHERE tranche_id IS NOT NULL;

CREATE FUNCTION fund_ledger_insert_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'fund_ledger is insert-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER fund_ledger_no_update BEFORE UPDATE ON fund_ledger
    FOR EACH ROW EXECUTE FUNCTION fund_ledger_insert_only();
CREATE TRIGGER fund_ledger_no_delete BEFORE DELETE ON fund_ledger
    FOR EACH ROW EXECUTE FUNCTION fund_ledger_insert_only();

CREATE TABLE projects (
    id                 TEXT PRIMARY KEY NOT NULL,
    district_id        TEXT NOT NULL,
    street_id          TEXT,
    region_id          TEXT NOT NULL REFERENCES regions (id),
    title              TEXT NOT NULL,
    category           TEXT NOT NULL,
    method             TEXT NOT NULL,
    fund_id            TEXT NOT NULL REFERENCES funds (id),
    budget_ceiling_fen BIGINT NOT NULL,
    bid_close_at       TIMESTAMP NOT NULL,
    spec               TEXT NOT NULL,
    rule_pack          TEXT,
    warnings           TEXT NOT NULL DEFAULT '[]',
    status             TEXT NOT NULL,
    round              INTEGER NOT NULL DEFAULT 1,
    seed_sealed        TEXT,
    seed_commitment    TEXT,
    seed               TEXT,
    status_reason      TEXT,
    created_by         TEXT NOT NULL,
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    published_at       TIMESTAMP,
    closed_at          TIMESTAMP
);
CREATE INDEX projects_status_newest ON projects (status, id);
CREATE INDEX projects_district_newest ON projects (district_id, id);
CREATE INDEX projects_street_newest ON projects (street_id, id);
CREATE INDEX projects_region_newest ON projects (region_id, id);
CREATE INDEX projects_close ON projects (status, bid_close_at);

CREATE TABLE project_needs (
    project_id TEXT NOT NULL REFERENCES projects (id),
    need_id    TEXT NOT NULL REFERENCES needs (id),
    PRIMARY KEY (project_id, need_id)
);
CREATE INDEX project_needs_need ON project_needs (need_id);

CREATE TABLE project_amendments (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    reason       TEXT NOT NULL,
    changes      TEXT NOT NULL,
    old_close_at TIMESTAMP NOT NULL,
    new_close_at TIMESTAMP NOT NULL,
    actor_id     TEXT NOT NULL,
    at           TIMESTAMP NOT NULL
);
CREATE INDEX project_amendments_project ON project_amendments (project_id, at);

CREATE TABLE calendar_years (
    year       INTEGER PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,
    updated_by TEXT,
    updated_at TIMESTAMP NOT NULL
);

-- Substring search over Chinese text: trigram GIN index (pg_trgm is a trusted extension).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX needs_search ON needs USING gin ((title || ' ' || description) gin_trgm_ops);
CREATE INDEX projects_search ON projects USING gin (title gin_trgm_ops);
