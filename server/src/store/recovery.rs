//! Starting with a database file that cannot be read. A damaged file is
//! never deleted and never written to: it is moved aside under a name with
//! the time (`kestrel.db.damaged-20261121T081500Z`, with its `-wal` and
//! `-shm` companions), a fresh database takes its place, and the move is
//! reported as a [`Recovery`] the UI shows to the user. A database written
//! by a newer Kestrel is not damaged; it is refused and left where it is
//! (see [`super::schema::open`]). Other failures (permissions, a full disk)
//! are errors, since a fresh file would not fare better.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode};

use super::{StoreError, schema};

/// A damaged database that was moved aside at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the damaged file now is.
    pub kept_at: PathBuf,
    /// What SQLite said about it.
    pub reason: String,
}

/// Opens the database at `path`; if it is unreadable, keeps it aside and
/// opens a fresh one.
pub fn open_or_recover(path: &Path) -> Result<(Connection, Option<Recovery>), StoreError> {
    let error = match schema::open(path) {
        Ok(conn) => return Ok((conn, None)),
        Err(error) if is_damage(&error) => error,
        Err(error) => return Err(error),
    };
    let kept_at = aside_name(path, &utc_stamp());
    tracing::error!(path = %path.display(), kept_at = %kept_at.display(), %error,
        "the database is unreadable; keeping it aside and starting a fresh one");
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(path, suffix);
        if from.exists() {
            std::fs::rename(&from, with_suffix(&kept_at, suffix)).map_err(|source| {
                StoreError::Task(format!(
                    "cannot move the damaged database {} aside: {source}",
                    from.display()
                ))
            })?;
        }
    }
    let conn = schema::open(path)?;
    Ok((
        conn,
        Some(Recovery {
            kept_at,
            reason: error.to_string(),
        }),
    ))
}

/// Whether the error says the file is not a readable database.
fn is_damage(error: &StoreError) -> bool {
    let sqlite = match error {
        StoreError::Sqlite(e) => e,
        StoreError::Migration(rusqlite_migration::Error::RusqliteError { err, .. }) => err,
        _ => return false,
    };
    matches!(
        sqlite.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `kestrel.db` → `kestrel.db.damaged-<stamp>`, with a counter if taken.
fn aside_name(path: &Path, stamp: &str) -> PathBuf {
    let base = with_suffix(path, &format!(".damaged-{stamp}"));
    let mut candidate = base.clone();
    let mut n = 1;
    while candidate.exists() {
        n += 1;
        candidate = with_suffix(&base, &format!("-{n}"));
    }
    candidate
}

/// Now as `YYYYMMDDTHHMMSSZ` (UTC).
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    stamp(i64::try_from(secs).unwrap_or(0))
}

fn stamp(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries;
    use pretty_assertions::assert_eq;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(stamp(0), "19700101T000000Z");
        assert_eq!(stamp(951_782_400), "20000229T000000Z");
        assert_eq!(stamp(1_795_249_845), "20261121T083045Z");
    }

    #[test]
    fn a_garbage_file_is_kept_aside_and_a_fresh_database_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        let garbage = b"this is not a database, but it is someone's file".repeat(200);
        std::fs::write(&path, &garbage).unwrap();

        let (conn, recovery) = open_or_recover(&path).unwrap();
        let recovery = recovery.expect("the damage was reported");
        assert_eq!(std::fs::read(&recovery.kept_at).unwrap(), garbage);
        let name = recovery.kept_at.file_name().unwrap().to_string_lossy();
        assert!(name.starts_with("kestrel.db.damaged-"), "{name}");
        assert!(queries::list_conversations(&conn).unwrap().is_empty());
        queries::create_conversation(&conn, "m", "").unwrap();

        // The next start finds the fresh database healthy.
        drop(conn);
        let (conn, recovery) = open_or_recover(&path).unwrap();
        assert_eq!(recovery, None);
        assert_eq!(queries::list_conversations(&conn).unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_page_inside_a_real_database_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        {
            let conn = schema::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        }
        // Overwrite the schema page (page 1 after the 100-byte header).
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[100..4096] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let (_conn, recovery) = open_or_recover(&path).unwrap();
        let recovery = recovery.expect("the damage was reported");
        assert_eq!(std::fs::read(&recovery.kept_at).unwrap(), bytes);
    }

    #[test]
    fn a_newer_database_is_refused_not_moved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        drop(schema::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 1000)
            .unwrap();
        let error = open_or_recover(&path).unwrap_err();
        assert!(matches!(error, StoreError::TooNew { found: 1000, .. }));
        assert!(path.exists());
        let moved = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().contains("damaged")
            })
            .count();
        assert_eq!(moved, 0);
    }
}
