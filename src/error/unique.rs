//! What a unique violation conflicts with, in the domain's words: the client reads the
//! message, the log gets the constraint.

/// What each unique constraint protects, in the domain's words: the PostgreSQL constraint
/// name, what SQLite names in "UNIQUE constraint failed: …", and the message for the client.
const UNIQUE_CONFLICTS: &[(&str, &str, &str)] = &[
    (
        "users_email_key",
        "users.email",
        "a user with this email already exists",
    ),
    (
        "organizations_uscc_key",
        "organizations.uscc",
        "an organization with this unified social credit code is already registered",
    ),
    (
        "regions_parent_name",
        "index 'regions_parent_name'",
        "a region of this name already exists under the same parent",
    ),
    (
        "funds_name",
        "funds.district_id, funds.fiscal_year, funds.name",
        "the district already has a fund of this name for that fiscal year",
    ),
    (
        "fund_ledger_ref_key_key",
        "fund_ledger.ref_key",
        "this fund movement has already been recorded",
    ),
    (
        "fund_ledger_tranche_kind",
        "fund_ledger.tranche_id, fund_ledger.kind",
        "this tranche's fund movement has already been recorded",
    ),
    (
        "project_needs_pkey",
        "project_needs.project_id, project_needs.need_id",
        "the need is already part of this project",
    ),
    (
        "calendar_years_pkey",
        "calendar_years.year",
        "the calendar of this year has already been loaded",
    ),
    (
        "bids_one_live",
        "bids.project_id, bids.round, bids.bidder_key",
        "the organization already has a live bid in this round",
    ),
    (
        "experts_user_id_key",
        "experts.user_id",
        "this user is already an expert",
    ),
    (
        "panel_draws_pkey",
        "panel_draws.project_id, panel_draws.round",
        "the panel of this round has already been drawn",
    ),
    (
        "panel_seats_expert",
        "panel_seats.project_id, panel_seats.round, panel_seats.expert_id",
        "the expert already has a seat on this panel",
    ),
    (
        "score_sheets_one",
        "score_sheets.expert_id, score_sheets.bid_id",
        "the expert has already scored this bid",
    ),
    (
        "awards_one_live",
        "awards.project_id, awards.round",
        "this round already has a live award",
    ),
    (
        "contracts_award_id_key",
        "contracts.award_id",
        "the award already has a contract",
    ),
    (
        "idempotency_keys_pkey",
        "idempotency_keys.user_id, idempotency_keys.key",
        "this Idempotency-Key has already been used",
    ),
    (
        "outbox_dedupe_key_key",
        "outbox.dedupe_key",
        "this notification has already been queued",
    ),
    (
        "tranches_contract_id_seq_key",
        "tranches.contract_id, tranches.seq",
        "the contract already has a tranche with this number",
    ),
];

/// The client's message for a unique violation: what conflicts, never the constraint's name.
pub(super) fn message(constraint: Option<&str>, message: &str) -> &'static str {
    let sqlite = message.strip_prefix("UNIQUE constraint failed: ");
    UNIQUE_CONFLICTS
        .iter()
        .find(|(pg, columns, _)| constraint == Some(*pg) || sqlite == Some(*columns))
        .map_or("conflicts with an existing record", |(_, _, text)| *text)
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;

    use super::*;
    use crate::error::AppError;

    fn unique(constraint: Option<&'static str>, message: &str) -> AppError {
        /// What PostgreSQL reports; SQLite gives only its message.
        struct Info(Option<&'static str>, String);
        impl diesel::result::DatabaseErrorInformation for Info {
            fn message(&self) -> &str {
                &self.1
            }
            fn details(&self) -> Option<&str> {
                None
            }
            fn hint(&self) -> Option<&str> {
                None
            }
            fn table_name(&self) -> Option<&str> {
                None
            }
            fn column_name(&self) -> Option<&str> {
                None
            }
            fn constraint_name(&self) -> Option<&str> {
                self.0
            }
            fn statement_position(&self) -> Option<i32> {
                None
            }
        }
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new(Info(constraint, message.to_owned())),
        )
        .into()
    }

    #[test]
    fn a_unique_violation_says_what_conflicts_on_both_databases() {
        let pg = unique(
            Some("organizations_uscc_key"),
            "duplicate key value violates unique constraint \"organizations_uscc_key\"",
        );
        let sqlite = unique(None, "UNIQUE constraint failed: organizations.uscc");
        for e in [pg, sqlite] {
            assert_eq!(e.status, StatusCode::CONFLICT);
            assert_eq!(e.code, "conflict");
            assert_eq!(
                e.detail,
                "an organization with this unified social credit code is already registered"
            );
        }
        let pg = unique(Some("regions_parent_name"), "duplicate key value");
        let sqlite = unique(
            None,
            "UNIQUE constraint failed: index 'regions_parent_name'",
        );
        assert_eq!(pg.detail, sqlite.detail);
        assert!(pg.detail.contains("region"), "{}", pg.detail);
    }

    #[test]
    fn an_unknown_unique_violation_is_generic_and_never_names_the_constraint() {
        for e in [
            unique(
                Some("secret_idx"),
                "duplicate key value violates unique constraint \"secret_idx\"",
            ),
            unique(None, "UNIQUE constraint failed: needs.title"),
        ] {
            assert_eq!(e.detail, "conflicts with an existing record");
            let body = serde_json::to_string(&e.problem()).unwrap();
            assert!(
                !body.contains("secret_idx") && !body.contains("needs.title"),
                "{body}"
            );
        }
    }

    #[test]
    fn every_unique_constraint_of_the_schema_has_its_words() {
        // The PostgreSQL migrations name them: inline UNIQUE columns as `{table}_{column}_key`,
        // indexes by their own names.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut named = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path().join("up.sql")).unwrap();
            let mut table = String::new();
            for line in sql.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    table = rest.split_whitespace().next().unwrap().to_owned();
                } else if let Some(rest) = line.strip_prefix("CREATE UNIQUE INDEX ") {
                    named.push(rest.split_whitespace().next().unwrap().to_owned());
                } else if line.contains(" UNIQUE") && !line.starts_with("--") {
                    let column = line.split_whitespace().next().unwrap();
                    named.push(format!("{table}_{column}_key"));
                }
            }
        }
        let known: Vec<&str> = UNIQUE_CONFLICTS.iter().map(|(pg, _, _)| *pg).collect();
        for name in named {
            // Refresh tokens are hashes of 32 random bytes: they never collide in practice.
            if name == "refresh_tokens_token_hash_key" {
                continue;
            }
            assert!(known.contains(&name.as_str()), "{name} has no message");
        }
    }
}
