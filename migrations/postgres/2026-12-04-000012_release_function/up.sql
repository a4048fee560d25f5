-- A release in one round trip (issue 12). The tranche's contract is locked, and only then are
-- the tranche paid and the contract's tranches and completion review read: each statement of a
-- PL/pgSQL function reads with a snapshot of its own, taken after the statement before it, so
-- the reads see whatever the lock's last holder committed, as the two statements they replace
-- did. The tranche is paid only if its contract is in `p_district` and in one of
-- `p_statuses` (the states the contract's lifecycle lets release, passed in by the caller) and
-- the tranche is still `p_releasable`: the one guarded UPDATE. The answer is the contract's
-- tranches as they stand after it, in seq order, each with whether this call paid, whether
-- the completion review has passed, and the contract's fields a release needs; no rows when the
-- tranche does not exist.
CREATE FUNCTION gongyi_release_tranche(
    p_tranche TEXT,
    p_district TEXT,
    p_statuses TEXT[],
    p_releasable TEXT,
    p_released TEXT,
    p_reference TEXT,
    p_at TIMESTAMP,
    p_by TEXT,
    p_review_kind TEXT,
    p_review_passed TEXT
) RETURNS TABLE (
    id TEXT,
    contract_id TEXT,
    seq INTEGER,
    condition TEXT,
    date DATE,
    percent INTEGER,
    amount_fen BIGINT,
    status TEXT,
    releasable_at TIMESTAMP,
    release_due DATE,
    overdue_notified_at TIMESTAMP,
    payment_reference TEXT,
    released_at TIMESTAMP,
    released_by TEXT,
    paid BOOLEAN,
    completion_passed BOOLEAN,
    c_project_id TEXT,
    c_award_id TEXT,
    c_organization_id TEXT,
    c_district_id TEXT,
    c_fund_id TEXT,
    c_status TEXT,
    contact_email TEXT
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c contracts%ROWTYPE;
    email TEXT;
    n INTEGER := 0;
BEGIN
    SELECT contracts.* INTO c FROM contracts
     WHERE contracts.id = (SELECT t.contract_id FROM tranches t WHERE t.id = p_tranche)
     FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT o.contact_email INTO email FROM organizations o WHERE o.id = c.organization_id;
    IF c.district_id = p_district AND c.status = ANY (p_statuses) THEN
        UPDATE tranches t
           SET status = p_released, payment_reference = p_reference,
               released_at = p_at, released_by = p_by
         WHERE t.id = p_tranche AND t.contract_id = c.id AND t.status = p_releasable;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    RETURN QUERY
    SELECT t.id, t.contract_id, t.seq, t.condition, t.date, t.percent, t.amount_fen, t.status,
           t.releasable_at, t.release_due, t.overdue_notified_at, t.payment_reference,
           t.released_at, t.released_by,
           n = 1,
           EXISTS (SELECT 1 FROM reviews r WHERE r.contract_id = c.id
                    AND r.kind = p_review_kind AND r.status = p_review_passed),
           c.project_id, c.award_id, c.organization_id, c.district_id, c.fund_id, c.status, email
      FROM tranches t WHERE t.contract_id = c.id ORDER BY t.seq;
END
$$;
