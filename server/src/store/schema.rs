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
    Migrations::new(vec![
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
    ])
}

/// Opens the database at `path`, sets the connection up and migrates it.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Connection settings: WAL so readers never block the writer, NORMAL sync
/// (durable at every checkpoint, and a crash loses at most the last
/// transactions, never integrity), foreign keys on, and a busy timeout for
/// a second process (the CLI) sharing the file.
pub fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
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
        assert!(matches!(error, StoreError::Migration(_)), "{error:?}");
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
}
