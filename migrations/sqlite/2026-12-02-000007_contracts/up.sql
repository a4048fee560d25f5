-- Contracts (合同), their staged payments (分期拨付) and amendments (政府采购法 art 49).

CREATE TABLE contracts (
    id                   TEXT PRIMARY KEY NOT NULL,
    project_id           TEXT NOT NULL REFERENCES projects (id),
    -- One contract per award.
    award_id             TEXT NOT NULL UNIQUE REFERENCES awards (id),
    round                INTEGER NOT NULL,
    organization_id      TEXT NOT NULL REFERENCES organizations (id),
    district_id          TEXT NOT NULL,
    fund_id              TEXT NOT NULL REFERENCES funds (id),
    original_amount_fen  BIGINT NOT NULL CHECK (original_amount_fen > 0),
    amount_fen           BIGINT NOT NULL CHECK (amount_fen > 0),
    service_start        DATE NOT NULL,
    service_end          DATE NOT NULL,
    kpis                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    sign_deadline        TIMESTAMP NOT NULL,
    signed_by_bureau     TEXT,
    signed_by_bureau_at  TIMESTAMP,
    signed_by_org        TEXT,
    signed_by_org_at     TIMESTAMP,
    signature_overdue    BOOLEAN NOT NULL DEFAULT FALSE,
    termination_proposed BOOLEAN NOT NULL DEFAULT FALSE,
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMP NOT NULL,
    activated_at         TIMESTAMP,
    completed_at         TIMESTAMP,
    terminated_at        TIMESTAMP,
    termination_reason   TEXT
);
CREATE INDEX contracts_district ON contracts (district_id, id);
CREATE INDEX contracts_organization ON contracts (organization_id, id);
CREATE INDEX contracts_unsigned ON contracts (status, sign_deadline);

CREATE TABLE tranches (
    id                  TEXT PRIMARY KEY NOT NULL,
    contract_id         TEXT NOT NULL REFERENCES contracts (id),
    seq                 INTEGER NOT NULL,
    condition           TEXT NOT NULL,
    date                DATE,
    percent             INTEGER NOT NULL CHECK (percent > 0 AND percent <= 100),
    amount_fen          BIGINT NOT NULL CHECK (amount_fen >= 0),
    status              TEXT NOT NULL,
    releasable_at       TIMESTAMP,
    -- The day it must be paid by (a due day ends at 24:00 UTC+8).
    release_due         DATE,
    overdue_notified_at TIMESTAMP,
    payment_reference   TEXT,
    released_at         TIMESTAMP,
    released_by         TEXT,
    UNIQUE (contract_id, seq)
);
CREATE INDEX tranches_maturing ON tranches (status, date);
CREATE INDEX tranches_due ON tranches (status, release_due);

CREATE TABLE contract_amendments (
    id                TEXT PRIMARY KEY NOT NULL,
    contract_id       TEXT NOT NULL REFERENCES contracts (id),
    amount_before_fen BIGINT NOT NULL,
    amount_after_fen  BIGINT NOT NULL,
    reason            TEXT NOT NULL,
    actor_id          TEXT NOT NULL,
    at                TIMESTAMP NOT NULL
);
CREATE INDEX contract_amendments_contract ON contract_amendments (contract_id, at);

CREATE INDEX fund_ledger_contract ON fund_ledger (contract_id) WHERE contract_id IS NOT NULL;
