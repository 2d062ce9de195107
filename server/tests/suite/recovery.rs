//! Start-up with a bad database file: an unreadable one is kept aside
//! (never deleted), a fresh one is used and the user is told; one written
//! by a newer Kestrel is refused with a clear message and left as it was.

use pretty_assertions::assert_eq;

use super::common::{backend, config};
use kestrel_server::Backend;
use kestrel_server::secrets::KeyStore;

#[tokio::test]
async fn an_unreadable_database_is_kept_aside_and_the_user_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = vec![0x5Au8; 64 * 1024];
    std::fs::write(dir.path().join("kestrel.db"), &damaged).unwrap();

    let backend = backend(dir.path(), "http://127.0.0.1:9", None);
    let notices = backend.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("kept, unchanged"), "{}", notices[0]);
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("kestrel.db.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(notices[0].contains(&kept[0].display().to_string()));
    assert_eq!(std::fs::read(&kept[0]).unwrap(), damaged);
    // The fresh database works.
    backend.create_conversation().await.unwrap();
    assert_eq!(backend.list_conversations().await.unwrap().len(), 1);

    // A normal start tells nothing.
    drop(backend);
    let backend = super::common::backend(dir.path(), "http://127.0.0.1:9", None);
    assert!(backend.notices().is_empty());
}

#[tokio::test]
async fn a_database_from_a_newer_kestrel_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kestrel.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 4242;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let error = Backend::open(
        config(dir.path(), "http://127.0.0.1:9"),
        KeyStore::new(None),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("newer version of Kestrel"), "{error}");
    assert!(error.contains("4242"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
