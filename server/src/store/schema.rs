//! Opening the database and its versioned migrations. Each migration is
//! append-only: a released step is never edited, later changes add steps.
//! The schema version lives in SQLite's `user_version`; a database newer
//! than this binary knows is refused, never touched.

use std::path::Path;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use super::StoreError;

/// Every migration, oldest first.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(steps())
}

/// The schema version this binary writes (the number of steps).
pub fn latest_version() -> usize {
    steps().len()
}

fn steps() -> Vec<M<'static>> {
    vec![
        M::up(
            "CREATE TABLE conversations (
            id TEXT PRIMARY KEY NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            system_prompt TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL,
            active_leaf TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX conversations_by_activity ON conversations(updated_at DESC);

        CREATE TABLE messages (
            id TEXT PRIMARY KEY NOT NULL,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            status TEXT NOT NULL,
            model TEXT,
            usage TEXT,
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX messages_by_conversation ON messages(conversation_id, created_at);
        CREATE INDEX messages_by_parent ON messages(parent_id);
        CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

        CREATE TABLE settings (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) STRICT;",
        ),
        // Conversation state (pinned, archived, deleted but undoable) and
        // unsent drafts. A draft's key is its conversation's id, or '' for
        // the composer of a conversation not yet saved.
        M::up(
            "ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN deleted_at INTEGER;

        CREATE TABLE drafts (
            conversation_key TEXT PRIMARY KEY NOT NULL,
            text TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT;",
        ),
        M::up(super::search::MIGRATION),
        // Per-conversation request options, for conversations that set
        // any: the provider (default Anthropic) and extended thinking.
        M::up(
            "CREATE TABLE conversation_options (
            conversation_id TEXT PRIMARY KEY NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE,
            provider TEXT NOT NULL DEFAULT 'anthropic',
            thinking INTEGER NOT NULL DEFAULT 0 CHECK (thinking IN (0, 1))
        ) STRICT;",
        ),
        M::up(super::search::EXTERNAL_CONTENT_MIGRATION),
        M::up(super::search::SINGLE_PASS_MIGRATION),
    ]
}

/// Opens the database at `path`, sets the connection up and migrates it.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    // Checked before anything is written (switching to WAL writes the
    // file's header).
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    let known = latest_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    configure(&conn)?;
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Connection settings: WAL so readers never block the writer, NORMAL sync
/// (durable at every checkpoint, and a crash loses at most the last
/// transactions, never integrity), foreign keys on, and a busy timeout for
/// a second process (the CLI) sharing the file, and a page cache that
/// holds what search reads.
pub fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // 16 MiB of page cache (the default is 2 MiB): search reads the text of
    // its candidate matches, and re-reading those pages from the OS on
    // every query cost more than scoring them (BENCHMARKS.md).
    conn.pragma_update(None, "cache_size", -16_384)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The search index's triggers call it, so every connection that may
    // write a message needs it.
    super::search::body::register(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        // As `validate` does, on a connection set up as every one is (the
        // index's triggers and view call a function of ours).
        let mut conn = Connection::open_in_memory().unwrap();
        configure(&conn).unwrap();
        migrations().to_latest(&mut conn).unwrap();
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        drop(open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let error = open(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::TooNew { found: 99, .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("newer version of Kestrel"),
            "{error}"
        );
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 99);
    }

    #[test]
    fn wal_and_foreign_keys_are_on() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("k.db")).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), fk), ("wal", 1));
    }

    #[test]
    fn sync_is_normal_and_a_busy_file_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("k.db")).unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        let busy_ms: i64 = conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        // 1 = NORMAL; 5 s covers a second process (the CLI) writing.
        assert_eq!((sync, busy_ms), (1, 5000));
    }
}
