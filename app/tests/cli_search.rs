//! `kestrel search` against a real data directory: the binary as users run
//! it, a SQLite file filled through the store, JSON read back from stdout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use kestrel_server::store::{queries, schema};
use kestrel_shared::{
    ContentBlock, ConversationId, Message, MessageId, MessageStatus, Ranking, Role, SearchResults,
    Timestamp,
};

fn kestrel(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("search")
        .args(args)
        .env_remove("KESTREL_DATA_DIR")
        .output()
        .unwrap()
}

fn results(data_dir: &Path, args: &[&str]) -> SearchResults {
    let output = kestrel(data_dir, args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?} failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn message(
    conversation: ConversationId,
    parent: Option<MessageId>,
    text: &str,
    status: MessageStatus,
) -> Message {
    Message {
        id: MessageId::from_uuid(queries::new_uuid()),
        conversation_id: conversation,
        parent_id: parent,
        role: if parent.is_some() {
            Role::Assistant
        } else {
            Role::User
        },
        content: vec![ContentBlock::text(text)],
        status,
        model: None,
        usage: None,
        created_at: queries::now(),
    }
}

#[test]
fn search_prints_ranked_json_hits_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (conversation, question, answer, streaming) = {
        let mut conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
        let c = queries::create_conversation(&conn, "m", "").unwrap();
        queries::set_title_if_empty(&conn, c.id, "Bread baking").unwrap();
        let q = message(
            c.id,
            None,
            "How long should rye dough rest?",
            MessageStatus::Complete,
        );
        queries::insert_message(&mut conn, &q).unwrap();
        let a = message(
            c.id,
            Some(q.id),
            "Rye dough rests about an hour; rye rye rye.",
            MessageStatus::Complete,
        );
        queries::insert_message(&mut conn, &a).unwrap();
        // A reply a running app is still writing.
        let s = message(
            c.id,
            Some(a.id),
            "rye in progress",
            MessageStatus::Streaming,
        );
        queries::insert_message(&mut conn, &s).unwrap();
        (c.id, q.id, a.id, s.id)
    };

    let found = results(dir.path(), &["rye", "dough"]);
    assert_eq!(found.ranking, Ranking::AllMatches { matches: 2 });
    let ids: Vec<_> = found.hits.iter().map(|h| h.message_id).collect();
    assert_eq!(ids, vec![Some(answer), Some(question)]);
    let hit = &found.hits[0];
    assert_eq!(hit.conversation_id, conversation);
    assert_eq!(hit.conversation_title, "Bread baking");
    assert!(
        hit.marked_snippet("[", "]").contains("[Rye] [dough] rests"),
        "{hit:?}"
    );

    let limited = results(dir.path(), &["rye", "--limit", "1"]);
    assert_eq!(limited.hits.len(), 1);

    let titles = results(dir.path(), &["--titles-only", "baking"]);
    assert_eq!(titles.hits.len(), 1);
    assert_eq!(
        (titles.hits[0].conversation_id, titles.hits[0].message_id),
        (conversation, None)
    );
    assert!(
        results(dir.path(), &["--titles-only", "rye"])
            .hits
            .is_empty()
    );

    let today = Timestamp(queries::now().0);
    let since_long_ago = results(dir.path(), &["rye", "--since", "2000-01-01"]);
    assert_eq!(since_long_ago.hits.len(), 2);
    let until_long_ago = results(dir.path(), &["rye", "--until", "2000-01-01"]);
    assert!(until_long_ago.hits.is_empty());
    assert!(found.hits.iter().all(|h| h.created_at <= today));

    // FTS syntax is searched as text, never an error.
    for hostile in ["\"NEAR(", "rye*)", "title:rye", "rye OR", "^rye", "(", "\""] {
        results(dir.path(), &[hostile]);
    }

    // A search changes nothing a running app relies on: the reply it is
    // writing stays `streaming` (not marked interrupted).
    let conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
    assert_eq!(
        queries::get_message(&conn, streaming).unwrap().status,
        MessageStatus::Streaming
    );
}

#[test]
fn bad_input_is_reported_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let output = kestrel(dir.path(), &["tea", "--since", "last tuesday"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a date: use YYYY-MM-DD"), "{stderr}");

    let output = kestrel(dir.path(), &["tea", "--limit", "0"]);
    assert!(!output.status.success());

    // No database yet: an empty answer that says so, and nothing created.
    let empty = results(&dir.path().join("nothing-here"), &["tea"]);
    assert!(empty.hits.is_empty());
    assert!(
        empty
            .notice
            .unwrap()
            .contains("No conversations are stored")
    );
    assert!(!dir.path().join("nothing-here").exists());
}
