//! The tables, created and migrated by the program.
//!
//! [`MIGRATIONS`] is the schema's history: migration N turns version N-1
//! into version N, and is never edited once released (a change is a new
//! migration). [`migrate`] applies those a database lacks, each in the
//! same transaction as the row of `rl_schema` that records it, under a
//! transaction-scoped advisory lock so that two processes starting at once
//! do not both apply one. A database of a newer version than this program
//! knows is refused rather than misread.

use postgres::Client;

/// The advisory lock key of migrations (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x524c_4d49_4752_4154; // "RLMIGRAT"

/// The schema's history, oldest first: `(version, SQL)`.
pub const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    r#"
CREATE TABLE rl_ledgers (
    id             bigserial PRIMARY KEY,
    ledger_id      bytea UNIQUE CHECK (length(ledger_id) = 32),
    checkpoint_key text NOT NULL,
    created        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rl_entries (
    ledger bigint NOT NULL REFERENCES rl_ledgers (id),
    seq    bigint NOT NULL CHECK (seq >= 0),
    entry  bytea  NOT NULL,
    PRIMARY KEY (ledger, seq)
);
CREATE TABLE rl_event_ids (
    ledger   bigint NOT NULL REFERENCES rl_ledgers (id),
    event_id bytea  NOT NULL CHECK (length(event_id) = 16),
    seq      bigint NOT NULL,
    PRIMARY KEY (ledger, event_id)
);
CREATE TABLE rl_nodes (
    ledger bigint  NOT NULL REFERENCES rl_ledgers (id),
    level  integer NOT NULL,
    idx    bigint  NOT NULL,
    hash   bytea   NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (ledger, level, idx)
);
CREATE TABLE rl_ends (
    ledger     bigint PRIMARY KEY REFERENCES rl_ledgers (id),
    head       bytea  NOT NULL,
    checkpoint text   NOT NULL
);
CREATE TABLE rl_snapshots (
    ledger bigint PRIMARY KEY REFERENCES rl_ledgers (id),
    record bytea  NOT NULL
);
CREATE FUNCTION rl_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'review-ledger: % on % refused: entries and the records derived from them are never changed in place', TG_OP, TG_TABLE_NAME;
END
$$;
CREATE TRIGGER rl_entries_append_only BEFORE UPDATE OR DELETE ON rl_entries
    FOR EACH ROW EXECUTE FUNCTION rl_append_only();
CREATE TRIGGER rl_entries_no_truncate BEFORE TRUNCATE ON rl_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rl_append_only();
CREATE TRIGGER rl_event_ids_append_only BEFORE UPDATE OR DELETE ON rl_event_ids
    FOR EACH ROW EXECUTE FUNCTION rl_append_only();
CREATE TRIGGER rl_event_ids_no_truncate BEFORE TRUNCATE ON rl_event_ids
    FOR EACH STATEMENT EXECUTE FUNCTION rl_append_only();
CREATE TRIGGER rl_nodes_append_only BEFORE UPDATE OR DELETE ON rl_nodes
    FOR EACH ROW EXECUTE FUNCTION rl_append_only();
CREATE TRIGGER rl_nodes_no_truncate BEFORE TRUNCATE ON rl_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION rl_append_only();
"#,
)];

/// The version this program writes.
pub fn current() -> i32 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

/// Brings the database to [`current`]; returns the versions it applied.
/// Refuses a database whose version is newer than this program knows.
pub fn migrate(client: &mut Client) -> Result<Vec<i32>, String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| e.to_string())?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS rl_schema (
             version integer PRIMARY KEY,
             applied timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(|e| e.to_string())?;
    let at: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM rl_schema", &[])
        .map_err(|e| e.to_string())?
        .get(0);
    if at > current() {
        return Err(format!(
            "its schema is version {at}, newer than this review-ledger knows ({}): upgrade review-ledger",
            current()
        ));
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > at) {
        tx.batch_execute(sql)
            .map_err(|e| format!("migration {version}: {e}"))?;
        tx.execute("INSERT INTO rl_schema (version) VALUES ($1)", &[version])
            .map_err(|e| e.to_string())?;
        applied.push(*version);
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(applied)
}

/// Whether the database holds this program's tables at all.
pub fn exists(client: &mut Client) -> Result<bool, String> {
    Ok(client
        .query_one("SELECT to_regclass('rl_schema') IS NOT NULL", &[])
        .map_err(|e| e.to_string())?
        .get(0))
}

/// Checks, without changing anything, that the database holds this
/// program's schema: what a reader does, who may not create tables.
pub fn check(client: &mut Client) -> Result<(), String> {
    if !exists(client)? {
        return Err(
            "it holds no review-ledger tables (a writer creates them: `review-ledger init --store`, `migrate` or `serve --store`)".into(),
        );
    }
    let at: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM rl_schema", &[])
        .map_err(|e| e.to_string())?
        .get(0);
    match at.cmp(&current()) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(format!(
            "its schema is version {at}, newer than this review-ledger knows ({}): upgrade review-ledger",
            current()
        )),
        std::cmp::Ordering::Less => Err(format!(
            "its schema is version {at}, older than this review-ledger's ({}): a writer of this version brings it up to date",
            current()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one() {
        for (i, (v, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i32 + 1);
        }
    }
}
