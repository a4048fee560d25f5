//! The one diesel schema, in portable types only (TEXT ids, BIGINT money in fen, UTC TIMESTAMP),
//! shared by the SQLite and PostgreSQL migration sets.

diesel::table! {
    regions (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<Text>,
        district_id -> Nullable<Text>,
        street_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        region_id -> Nullable<Text>,
        organization_id -> Nullable<Text>,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        district_id -> Nullable<Text>,
        summary -> Text,
        prev_hash -> Text,
        hash -> Text,
        project_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    sealed_events (id) {
        id -> Text,
        project_id -> Text,
        round -> Integer,
        at -> Timestamp,
        sealed -> Text,
    }
}

diesel::table! {
    ocds_releases (seq) {
        seq -> BigInt,
        project_id -> Text,
        date -> Timestamp,
        tag -> Text,
        body -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        sealed -> Bool,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        request_hash -> Text,
        status_code -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    needs (id) {
        id -> Text,
        community_id -> Text,
        street_id -> Text,
        district_id -> Text,
        title -> Text,
        description -> Text,
        category -> Text,
        source -> Text,
        external_ref -> Nullable<Text>,
        beneficiary_group -> Text,
        beneficiaries -> BigInt,
        urgency -> Text,
        urgency_rank -> Integer,
        supporters -> BigInt,
        status -> Text,
        status_reason -> Nullable<Text>,
        merged_into -> Nullable<Text>,
        project_id -> Nullable<Text>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    funds (id) {
        id -> Text,
        name -> Text,
        district_id -> Text,
        fiscal_year -> Integer,
        source -> Text,
        total_fen -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fund_ledger (id) {
        id -> Text,
        fund_id -> Text,
        kind -> Text,
        amount_fen -> BigInt,
        project_id -> Nullable<Text>,
        contract_id -> Nullable<Text>,
        tranche_id -> Nullable<Text>,
        ref_key -> Text,
        actor_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        district_id -> Text,
        street_id -> Nullable<Text>,
        region_id -> Text,
        title -> Text,
        category -> Text,
        method -> Text,
        fund_id -> Text,
        budget_ceiling_fen -> BigInt,
        bid_close_at -> Timestamp,
        spec -> Text,
        rule_pack -> Nullable<Text>,
        warnings -> Text,
        status -> Text,
        round -> Integer,
        seed_sealed -> Nullable<Text>,
        seed_commitment -> Nullable<Text>,
        seed -> Nullable<Text>,
        status_reason -> Nullable<Text>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    project_needs (project_id, need_id) {
        project_id -> Text,
        need_id -> Text,
    }
}

diesel::table! {
    project_amendments (id) {
        id -> Text,
        project_id -> Text,
        reason -> Text,
        changes -> Text,
        old_close_at -> Timestamp,
        new_close_at -> Timestamp,
        actor_id -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    calendar_years (year) {
        year -> Integer,
        body -> Text,
        updated_by -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(fund_ledger -> funds (fund_id));
diesel::joinable!(project_needs -> projects (project_id));
diesel::joinable!(project_needs -> needs (need_id));

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        uscc -> Text,
        org_type -> Text,
        registered_on -> Date,
        rating -> Nullable<Text>,
        rating_awarded_on -> Nullable<Date>,
        social_workers -> Integer,
        district_id -> Text,
        contact_email -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    bids (id) {
        id -> Text,
        project_id -> Text,
        round -> Integer,
        organization_id -> Nullable<Text>,
        status -> Text,
        sealed -> Nullable<Text>,
        contents -> Nullable<Text>,
        price_fen -> Nullable<BigInt>,
        credentials -> Nullable<Text>,
        receipt_sha256 -> Text,
        received_at -> Timestamp,
        disqualified_reasons -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        bidder_key -> Text,
    }
}

diesel::table! {
    experts (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        title -> Text,
        specialties -> Text,
        region_id -> Nullable<Text>,
        bureau_district_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    expert_relationships (id) {
        id -> Text,
        expert_id -> Text,
        organization_uscc -> Text,
        kind -> Text,
        since -> Date,
        until -> Nullable<Date>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    panel_draws (project_id, round) {
        project_id -> Text,
        round -> Integer,
        status -> Text,
        size -> Integer,
        eligible_ids -> Text,
        receipts -> Text,
        receipts_root -> Text,
        drawn_at -> Timestamp,
    }
}

diesel::table! {
    panel_seats (id) {
        id -> Text,
        project_id -> Text,
        round -> Integer,
        expert_id -> Text,
        position -> Integer,
        status -> Text,
        invited_at -> Nullable<Timestamp>,
        declaration -> Nullable<Text>,
        decline_reason -> Nullable<Text>,
        responded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    score_sheets (id) {
        id -> Text,
        project_id -> Text,
        round -> Integer,
        expert_id -> Text,
        bid_id -> Text,
        points -> Text,
        comment -> Text,
        dissent -> Nullable<Text>,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    awards (id) {
        id -> Text,
        project_id -> Text,
        round -> Integer,
        bid_id -> Text,
        organization_id -> Text,
        amount_fen -> BigInt,
        justification -> Nullable<Text>,
        objection_deadline -> Timestamp,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        finalized_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    objections (id) {
        id -> Text,
        award_id -> Text,
        organization_id -> Text,
        grounds -> Text,
        status -> Text,
        reply -> Nullable<Text>,
        filed_by -> Text,
        created_at -> Timestamp,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    contracts (id) {
        id -> Text,
        project_id -> Text,
        award_id -> Text,
        round -> Integer,
        organization_id -> Text,
        district_id -> Text,
        fund_id -> Text,
        original_amount_fen -> BigInt,
        amount_fen -> BigInt,
        service_start -> Date,
        service_end -> Date,
        kpis -> Text,
        status -> Text,
        sign_deadline -> Timestamp,
        signed_by_bureau -> Nullable<Text>,
        signed_by_bureau_at -> Nullable<Timestamp>,
        signed_by_org -> Nullable<Text>,
        signed_by_org_at -> Nullable<Timestamp>,
        signature_overdue -> Bool,
        termination_proposed -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        terminated_at -> Nullable<Timestamp>,
        termination_reason -> Nullable<Text>,
    }
}

diesel::table! {
    tranches (id) {
        id -> Text,
        contract_id -> Text,
        seq -> Integer,
        condition -> Text,
        date -> Nullable<Date>,
        percent -> Integer,
        amount_fen -> BigInt,
        status -> Text,
        releasable_at -> Nullable<Timestamp>,
        release_due -> Nullable<Date>,
        overdue_notified_at -> Nullable<Timestamp>,
        payment_reference -> Nullable<Text>,
        released_at -> Nullable<Timestamp>,
        released_by -> Nullable<Text>,
    }
}

diesel::table! {
    contract_amendments (id) {
        id -> Text,
        contract_id -> Text,
        amount_before_fen -> BigInt,
        amount_after_fen -> BigInt,
        reason -> Text,
        actor_id -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    reviews (id) {
        id -> Text,
        contract_id -> Text,
        project_id -> Text,
        district_id -> Text,
        organization_id -> Text,
        kind -> Text,
        attempt -> Integer,
        due_on -> Date,
        opens_on -> Date,
        status -> Text,
        rules -> Text,
        panel_size -> Integer,
        eligible_ids -> Nullable<Text>,
        receipts -> Nullable<Text>,
        report -> Nullable<Text>,
        reported_at -> Nullable<Timestamp>,
        reported_by -> Nullable<Text>,
        satisfaction_rate -> Nullable<Text>,
        score_cents -> Nullable<BigInt>,
        grade -> Nullable<Text>,
        outcome_reason -> Nullable<Text>,
        opened_at -> Nullable<Timestamp>,
        finalized_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    review_seats (id) {
        id -> Text,
        review_id -> Text,
        expert_id -> Text,
        position -> Integer,
        status -> Text,
        invited_at -> Nullable<Timestamp>,
        declaration -> Nullable<Text>,
        decline_reason -> Nullable<Text>,
        responded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    review_sheets (id) {
        id -> Text,
        review_id -> Text,
        expert_id -> Text,
        points -> Text,
        comment -> Text,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    sheet_drafts (id) {
        id -> Text,
        kind -> Text,
        subject_id -> Text,
        expert_id -> Text,
        points -> Text,
        comment -> Text,
        dissent -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    satisfaction_surveys (id) {
        id -> Text,
        contract_id -> Text,
        respondents -> Integer,
        satisfied -> Integer,
        method -> Text,
        surveyed_on -> Date,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(tranches -> contracts (contract_id));
diesel::joinable!(reviews -> contracts (contract_id));
diesel::joinable!(review_seats -> reviews (review_id));
diesel::joinable!(users -> regions (region_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    users,
    refresh_tokens,
    audit_events,
    audit_head,
    ocds_releases,
    outbox,
    sealed_events,
    idempotency_keys,
    needs,
    funds,
    fund_ledger,
    projects,
    project_needs,
    project_amendments,
    calendar_years,
    organizations,
    bids,
    experts,
    expert_relationships,
    panel_draws,
    panel_seats,
    score_sheets,
    awards,
    objections,
    contracts,
    tranches,
    contract_amendments,
    reviews,
    review_seats,
    review_sheets,
    sheet_drafts,
    satisfaction_surveys,
);
