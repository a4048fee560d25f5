//! The SQLite and PostgreSQL migration sets produce the same tables and columns (names,
//! nullability and portable type). Runs where both databases are at hand (the PostgreSQL pass).

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use gongyi::db::{run_migrations, DbConn};

use crate::helpers::{new_pg_database, pg_url};

#[derive(QueryableByName)]
struct Col {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
}

/// Folds each backend's spelling of a type into the portable set.
fn portable(t: &str) -> &'static str {
    let t = t.to_ascii_lowercase();
    if t.contains("char") || t == "text" {
        "text"
    } else if t.contains("bigint") {
        "bigint"
    } else if t.contains("int") {
        "integer"
    } else if t.contains("bool") {
        "boolean"
    } else if t.contains("timestamp") {
        "timestamp"
    } else {
        "other"
    }
}

fn shape(cols: Vec<Col>) -> BTreeMap<(String, String), (&'static str, bool)> {
    cols.into_iter()
        .filter(|c| !c.table_name.starts_with("__diesel") && !c.table_name.starts_with("sqlite_"))
        .map(|c| {
            (
                (c.table_name, c.column_name),
                (portable(&c.data_type), c.nullable != 0),
            )
        })
        .collect()
}

#[test]
fn both_migration_sets_make_the_same_tables_and_columns() {
    let Some(admin) = pg_url() else {
        eprintln!("schema parity needs TEST_DATABASE_URL; checked in the PostgreSQL pass");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = DbConn::Sqlite(
        diesel::SqliteConnection::establish(dir.path().join("p.db").to_str().unwrap()).unwrap(),
    );
    run_migrations(&mut sqlite).unwrap();
    let (url, _guard) = new_pg_database(&admin);
    let mut pg = DbConn::Pg(diesel::PgConnection::establish(&url).unwrap());
    run_migrations(&mut pg).unwrap();

    let lite: Vec<Col> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type,
                CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 0 ELSE 1 END AS nullable
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table'",
    )
    .load(&mut sqlite)
    .unwrap();
    let postgres: Vec<Col> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text,
                CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS nullable
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .load(&mut pg)
    .unwrap();
    let (lite, postgres) = (shape(lite), shape(postgres));
    assert!(lite.len() > 40, "the introspection found the tables");
    assert_eq!(lite, postgres);
}
