//! Tests of the search index, its triggers, query reading and ranking,
//! against a real SQLite file.

use kestrel_shared::{
    ContentBlock, Conversation, ConversationId, Message, MessageId, MessageStatus, Ranking, Role,
    SearchQuery, SearchScope, Timestamp,
};
use pretty_assertions::assert_eq;
use rusqlite::Connection;

use super::*;
use crate::store::queries::{self, new_uuid};
use crate::store::schema;

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
    (dir, conn)
}

fn conversation(conn: &Connection, title: &str) -> Conversation {
    let c = queries::create_conversation(conn, "m", "").unwrap();
    queries::set_title_if_empty(conn, c.id, title).unwrap();
    queries::get_conversation(conn, c.id).unwrap()
}

fn message_at(
    conversation: ConversationId,
    parent: Option<MessageId>,
    content: Vec<ContentBlock>,
    status: MessageStatus,
    at: i64,
) -> Message {
    Message {
        id: MessageId::from_uuid(new_uuid()),
        conversation_id: conversation,
        parent_id: parent,
        role: if parent.is_none() {
            Role::User
        } else {
            Role::Assistant
        },
        content,
        status,
        model: None,
        usage: None,
        created_at: Timestamp(at),
    }
}

fn add(conn: &mut Connection, c: ConversationId, parent: Option<MessageId>, text: &str) -> Message {
    let m = message_at(
        c,
        parent,
        vec![ContentBlock::text(text)],
        MessageStatus::Complete,
        queries::now().0,
    );
    queries::insert_message(conn, &m).unwrap();
    m
}

fn ids(conn: &Connection, text: &str) -> Vec<MessageId> {
    search(conn, &SearchQuery::messages(text))
        .unwrap()
        .hits
        .into_iter()
        .filter_map(|h| h.message_id)
        .collect()
}

#[test]
fn finds_messages_in_every_conversation_and_branch() {
    let (_dir, mut conn) = db();
    let a = conversation(&conn, "Garden plans");
    let b = conversation(&conn, "Travel");
    let root = add(&mut conn, a.id, None, "Which tomatoes grow well in shade?");
    let reply = add(&mut conn, a.id, Some(root.id), "Cherry tomatoes cope best.");
    // A sibling branch, no longer active, is searched too.
    let edited = add(&mut conn, a.id, None, "Which peppers grow well in shade?");
    let other = add(&mut conn, b.id, None, "Pack light: tomatoes travel badly.");
    let mut found = ids(&conn, "tomatoes");
    found.sort();
    let mut expected = vec![root.id, reply.id, other.id];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(ids(&conn, "peppers"), vec![edited.id]);
    assert_eq!(ids(&conn, "TOMATOES shade"), vec![root.id]);
    assert_eq!(ids(&conn, "aubergine"), Vec::<MessageId>::new());
}

#[test]
fn hits_carry_where_they_are_and_a_marked_snippet() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Kitchen");
    let long = format!(
        "{} The kettle whistles when the water boils. {}",
        "Some words before. ".repeat(10),
        "And some after. ".repeat(10)
    );
    let m = add(&mut conn, c.id, None, &long);
    let results = search(&conn, &SearchQuery::messages("kettle")).unwrap();
    assert_eq!(results.ranking, Ranking::AllMatches { matches: 1 });
    let hit = &results.hits[0];
    assert_eq!(
        (
            hit.conversation_id,
            hit.conversation_title.as_str(),
            hit.message_id,
            hit.role,
            hit.created_at
        ),
        (c.id, "Kitchen", Some(m.id), Some(Role::User), m.created_at)
    );
    let marked = hit.marked_snippet("[", "]");
    assert!(marked.contains("The [kettle] whistles"), "{marked}");
    assert!(marked.starts_with('…') && marked.ends_with('…'), "{marked}");
    assert!(
        marked.len() < long.len() / 2,
        "a snippet, not the text: {marked}"
    );
    // Phrases and prefixes are marked as a whole.
    let results = search(&conn, &SearchQuery::messages("\"water boils\" whistl*")).unwrap();
    let marked = results.hits[0].marked_snippet("[", "]");
    assert!(
        marked.contains("[whistles] when the [water boils]"),
        "{marked}"
    );
}

#[test]
fn folded_diacritics_match_and_are_marked() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Cafés");
    let m = add(
        &mut conn,
        c.id,
        None,
        "We met at the Café Crème by the station.",
    );
    let results = search(&conn, &SearchQuery::messages("cafe creme")).unwrap();
    assert_eq!(results.hits.len(), 1);
    assert_eq!(results.hits[0].message_id, Some(m.id));
    let marked = results.hits[0].marked_snippet("[", "]");
    assert!(marked.contains("[Café] [Crème]"), "{marked}");
}

#[test]
fn ranking_prefers_frequent_concentrated_and_rare_terms() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Notes");
    let once_long = add(
        &mut conn,
        c.id,
        None,
        &format!(
            "The lighthouse {}",
            "stands by the sea and waits. ".repeat(12)
        ),
    );
    let twice_short = add(&mut conn, c.id, None, "Lighthouse keeper, lighthouse lamp.");
    let once_short = add(&mut conn, c.id, None, "A lighthouse at dusk.");
    assert_eq!(
        ids(&conn, "lighthouse"),
        vec![twice_short.id, once_short.id, once_long.id]
    );

    // Two terms: the rare one weighs more than the common one.
    for i in 0..30 {
        add(&mut conn, c.id, None, &format!("the harbour, note {i}"));
    }
    let common_twice = add(&mut conn, c.id, None, "harbour harbour with a beacon");
    let rare_twice = add(&mut conn, c.id, None, "beacon beacon with a harbour");
    add(&mut conn, c.id, None, "another beacon");
    add(&mut conn, c.id, None, "one more beacon");
    let results = search(&conn, &SearchQuery::messages("harbour beacon")).unwrap();
    let found: Vec<_> = results.hits.iter().filter_map(|h| h.message_id).collect();
    assert_eq!(found, vec![rare_twice.id, common_twice.id]);
    assert!(results.hits[0].score > results.hits[1].score);
}

#[test]
fn more_matches_than_the_window_rank_the_newest_window() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Many");
    let tx = conn.transaction().unwrap();
    let mut first = None;
    for i in 0..=CANDIDATE_WINDOW {
        let m = message_at(
            c.id,
            None,
            vec![ContentBlock::text(format!("ticket number {i}"))],
            MessageStatus::Complete,
            i as i64,
        );
        tx.execute(
            "INSERT INTO messages (id, conversation_id, role, content, status, created_at)
             VALUES (?1, ?2, 'user', ?3, 'complete', ?4)",
            params![
                m.id.to_string(),
                c.id.to_string(),
                serde_json::to_string(&m.content).unwrap(),
                i as i64
            ],
        )
        .unwrap();
        first.get_or_insert(m.id);
    }
    tx.commit().unwrap();
    let results = search(&conn, &SearchQuery::messages("ticket")).unwrap();
    assert_eq!(
        results.ranking,
        Ranking::NewestWindow {
            window: CANDIDATE_WINDOW as u64
        }
    );
    assert_eq!(results.hits.len(), 20);
    // The oldest match is outside the window; a narrower search finds it.
    assert!(!ids(&conn, "ticket").contains(&first.unwrap()));
    assert_eq!(ids(&conn, "ticket number 0"), vec![first.unwrap()]);
}

#[test]
fn titles_only_and_date_filters() {
    let (_dir, mut conn) = db();
    let sourdough = conversation(&conn, "Sourdough starter");
    let other = conversation(&conn, "Weekend");
    add(&mut conn, other.id, None, "I fed the sourdough today.");
    let titles = search(
        &conn,
        &SearchQuery {
            scope: SearchScope::Titles,
            ..SearchQuery::messages("sourdough")
        },
    )
    .unwrap();
    assert_eq!(titles.hits.len(), 1);
    let hit = &titles.hits[0];
    assert_eq!((hit.conversation_id, hit.message_id), (sourdough.id, None));
    assert_eq!(hit.marked_snippet("[", "]"), "[Sourdough] starter");

    let c = conversation(&conn, "Diary");
    let day = 86_400_000;
    let mut at = |t: i64, text: &str| {
        let m = message_at(
            c.id,
            None,
            vec![ContentBlock::text(text)],
            MessageStatus::Complete,
            t,
        );
        queries::insert_message(&mut conn, &m).unwrap();
        m.id
    };
    let monday = at(day, "rain on monday");
    let tuesday = at(2 * day, "rain on tuesday");
    let wednesday = at(3 * day, "rain on wednesday");
    let dated = |since: Option<i64>, until: Option<i64>| {
        let mut found: Vec<_> = search(
            &conn,
            &SearchQuery {
                since: since.map(Timestamp),
                until: until.map(Timestamp),
                ..SearchQuery::messages("rain")
            },
        )
        .unwrap()
        .hits
        .into_iter()
        .filter_map(|h| h.message_id)
        .collect();
        found.sort();
        found
    };
    let sorted = |mut v: Vec<MessageId>| {
        v.sort();
        v
    };
    assert_eq!(dated(Some(2 * day), None), sorted(vec![tuesday, wednesday]));
    assert_eq!(dated(None, Some(2 * day)), vec![monday]);
    assert_eq!(dated(Some(2 * day), Some(3 * day)), vec![tuesday]);
    assert_eq!(dated(Some(4 * day), None), Vec::<MessageId>::new());
}

#[test]
fn date_filters_are_exact_when_old_messages_are_stored_late() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Imported");
    let day = 86_400_000;
    let mut at = |t: i64| {
        let m = message_at(
            c.id,
            None,
            vec![ContentBlock::text(format!("lantern at {t}"))],
            MessageStatus::Complete,
            t,
        );
        queries::insert_message(&mut conn, &m).unwrap();
        m.id
    };
    // Stored in this order: rowids do not follow the dates.
    let recent = at(100 * day);
    let ancient = at(day);
    let middle = at(50 * day);
    let newest = at(101 * day);
    let dated = |since: Option<i64>, until: Option<i64>| {
        let mut found: Vec<_> = search(
            &conn,
            &SearchQuery {
                since: since.map(Timestamp),
                until: until.map(Timestamp),
                ..SearchQuery::messages("lantern")
            },
        )
        .unwrap()
        .hits
        .into_iter()
        .filter_map(|h| h.message_id)
        .collect();
        found.sort();
        found
    };
    let sorted = |mut v: Vec<MessageId>| {
        v.sort();
        v
    };
    assert_eq!(dated(None, Some(2 * day)), vec![ancient]);
    assert_eq!(dated(Some(100 * day), None), sorted(vec![recent, newest]));
    assert_eq!(dated(Some(2 * day), Some(100 * day)), vec![middle]);
    assert_eq!(dated(Some(200 * day), None), Vec::<MessageId>::new());
    assert_eq!(dated(None, Some(0)), Vec::<MessageId>::new());
}

/// FTS5's own check of the index against the text it reads back (with
/// rank 1, against the content): fails if a trigger ever told the index to
/// forget text other than what it had indexed.
fn index_matches_the_messages(conn: &Connection) {
    conn.execute(
        "INSERT INTO message_fts(message_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap();
}

/// Rows the index holds (its own, not the view's).
fn indexed_rows(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM message_fts_docsize", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn messages_without_text_are_indexed_as_empty_rows() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Tools");
    let tool_only = vec![ContentBlock::ToolUse {
        id: "t1".into(),
        name: "lookup".into(),
        input: serde_json::json!({"q": "dingo"}),
    }];
    // As a rebuild from the view has it: every finished message has a row.
    let call = message_at(c.id, None, tool_only.clone(), MessageStatus::Complete, 1);
    queries::insert_message(&mut conn, &call).unwrap();
    assert_eq!(indexed_rows(&conn), 1);
    assert_eq!(ids(&conn, "dingo"), Vec::<MessageId>::new());
    index_matches_the_messages(&conn);

    // Gaining text, and losing it again, keeps one row.
    let texted = [ContentBlock::text("a dingo appears")];
    queries::update_message(&conn, call.id, &texted, MessageStatus::Complete, None).unwrap();
    assert_eq!(ids(&conn, "dingo"), vec![call.id]);
    queries::update_message(&conn, call.id, &tool_only, MessageStatus::Complete, None).unwrap();
    assert_eq!(ids(&conn, "dingo"), Vec::<MessageId>::new());
    assert_eq!(indexed_rows(&conn), 1);
    index_matches_the_messages(&conn);

    // A streaming reply has none until it finishes.
    let reply = message_at(c.id, None, Vec::new(), MessageStatus::Streaming, 2);
    queries::insert_message(&mut conn, &reply).unwrap();
    assert_eq!(indexed_rows(&conn), 1);
    queries::update_message(&conn, reply.id, &[], MessageStatus::Cancelled, None).unwrap();
    assert_eq!(indexed_rows(&conn), 2);
    index_matches_the_messages(&conn);

    conn.execute("DELETE FROM messages WHERE id = ?1", [call.id.to_string()])
        .unwrap();
    assert_eq!(indexed_rows(&conn), 1);
    index_matches_the_messages(&conn);
    // The index counts the rows the view lists.
    conn.execute(
        "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
        [],
    )
    .unwrap();
    assert_eq!(indexed_rows(&conn), 1);
}

#[test]
fn triggers_keep_the_index_in_step() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Sync");
    // A reply being written is not searchable while it streams...
    let reply = message_at(c.id, None, Vec::new(), MessageStatus::Streaming, 1);
    queries::insert_message(&mut conn, &reply).unwrap();
    let partial = [ContentBlock::text("the partial quokka")];
    queries::update_message(&conn, reply.id, &partial, MessageStatus::Streaming, None).unwrap();
    assert_eq!(ids(&conn, "quokka"), Vec::<MessageId>::new());
    // ...and is once it finishes.
    let done = [ContentBlock::text("the finished quokka reply")];
    queries::update_message(&conn, reply.id, &done, MessageStatus::Complete, None).unwrap();
    assert_eq!(ids(&conn, "quokka"), vec![reply.id]);
    assert_eq!(ids(&conn, "partial"), Vec::<MessageId>::new());
    // Rewriting a finished message replaces its indexed text.
    let edited = [ContentBlock::text("now about a wombat")];
    queries::update_message(&conn, reply.id, &edited, MessageStatus::Complete, None).unwrap();
    assert_eq!(ids(&conn, "quokka"), Vec::<MessageId>::new());
    assert_eq!(ids(&conn, "wombat"), vec![reply.id]);
    index_matches_the_messages(&conn);

    // A reply cut off by a crash is indexed when it is marked interrupted.
    let cut = message_at(c.id, None, Vec::new(), MessageStatus::Streaming, 2);
    queries::insert_message(&mut conn, &cut).unwrap();
    let text = [ContentBlock::text("interrupted platypus")];
    queries::update_message(&conn, cut.id, &text, MessageStatus::Streaming, None).unwrap();
    assert_eq!(ids(&conn, "platypus"), Vec::<MessageId>::new());
    queries::mark_interrupted(&mut conn).unwrap();
    assert_eq!(ids(&conn, "platypus"), vec![cut.id]);
    index_matches_the_messages(&conn);

    // Only text blocks are indexed: not thinking or tool calls.
    let mixed = message_at(
        c.id,
        None,
        vec![
            ContentBlock::Thinking {
                thinking: "secretly pondering echidna".into(),
                signature: String::new(),
            },
            ContentBlock::ToolUse {
                id: "t1".into(),
                name: "lookup".into(),
                input: serde_json::json!({"q": "echidna numbat"}),
            },
            ContentBlock::text("first text"),
            ContentBlock::text("second text numbat"),
        ],
        MessageStatus::Complete,
        3,
    );
    queries::insert_message(&mut conn, &mixed).unwrap();
    assert_eq!(ids(&conn, "echidna"), Vec::<MessageId>::new());
    assert_eq!(ids(&conn, "numbat"), vec![mixed.id]);
    assert_eq!(ids(&conn, "\"first text\""), vec![mixed.id]);

    // Deleting a message, or its whole conversation, removes it.
    conn.execute("DELETE FROM messages WHERE id = ?1", [mixed.id.to_string()])
        .unwrap();
    assert_eq!(ids(&conn, "numbat"), Vec::<MessageId>::new());
    index_matches_the_messages(&conn);
    conn.execute(
        "DELETE FROM conversations WHERE id = ?1",
        [c.id.to_string()],
    )
    .unwrap();
    assert_eq!(ids(&conn, "wombat"), Vec::<MessageId>::new());
    assert_eq!(indexed_rows(&conn), 0);
    index_matches_the_messages(&conn);

    // Titles follow renames.
    let t = conversation(&conn, "Old name");
    queries::update_conversation(&conn, t.id, Some("Fresh name"), None).unwrap();
    let titles = |q: &str| {
        search(
            &conn,
            &SearchQuery {
                scope: SearchScope::Titles,
                ..SearchQuery::messages(q)
            },
        )
        .unwrap()
        .hits
        .len()
    };
    assert_eq!((titles("old"), titles("fresh")), (0, 1));
}

#[test]
fn the_migration_indexes_what_was_stored_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kestrel.db");
    let (c, m) = {
        let mut conn = Connection::open(&path).unwrap();
        schema::configure(&conn).unwrap();
        schema::migrations().to_version(&mut conn, 1).unwrap();
        let c = queries::create_conversation(&conn, "m", "").unwrap();
        queries::set_title_if_empty(&conn, c.id, "Before search existed").unwrap();
        let m = add(&mut conn, c.id, None, "an old message about narwhals");
        let streaming = message_at(
            c.id,
            None,
            vec![ContentBlock::text("narwhals half written")],
            MessageStatus::Streaming,
            1,
        );
        queries::insert_message(&mut conn, &streaming).unwrap();
        (c, m)
    };
    let conn = schema::open(&path).unwrap();
    assert_eq!(ids(&conn, "narwhals"), vec![m.id]);
    let titles = search(
        &conn,
        &SearchQuery {
            scope: SearchScope::Titles,
            ..SearchQuery::messages("existed")
        },
    )
    .unwrap();
    assert_eq!(titles.hits[0].conversation_id, c.id);
}

#[test]
fn rebuilding_the_index_gives_the_same_answers() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Rebuild");
    let m = add(&mut conn, c.id, None, "a heron by the pond");
    conn.execute("DELETE FROM message_fts", []).unwrap();
    assert_eq!(ids(&conn, "heron"), Vec::<MessageId>::new());
    rebuild_index(&mut conn).unwrap();
    assert_eq!(ids(&conn, "heron"), vec![m.id]);
}

#[test]
fn hostile_queries_never_error_and_mean_their_words() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Syntax");
    let m = add(
        &mut conn,
        c.id,
        None,
        "Do NOT use NEAR or AND here; title: body (x) ^caret * stars \"quoted\"",
    );
    let hostile = [
        "\"",
        "\"\"",
        "\"unbalanced",
        "unbalanced\"",
        "(",
        ")",
        "((not",
        "near)",
        "*",
        "**",
        "not*",
        "^caret",
        "^",
        "title:",
        "title:body",
        "body:title",
        "{body title}:x",
        "-",
        "-x",
        "+x",
        "NEAR(use here, 2)",
        "NEAR/2",
        "AND",
        "OR",
        "NOT",
        "use AND",
        "OR here",
        "NOT here",
        "a OR OR b",
        ":",
        "'",
        "\\",
        "%_",
        "\u{0}",
        "\u{2}\u{3}",
        "x\u{2}y",
        "🙂",
        "",
        "   ",
        "rowid:1",
        "message_fts:x",
        "* AND *",
    ];
    for text in hostile {
        let results = search(&conn, &SearchQuery::messages(text));
        assert!(results.is_ok(), "{text:?}: {results:?}");
        let titles = search(
            &conn,
            &SearchQuery {
                scope: SearchScope::Titles,
                ..SearchQuery::messages(text)
            },
        );
        assert!(titles.is_ok(), "{text:?}: {titles:?}");
    }
    // Operators are words like any other, found where the text has them.
    for text in [
        "NOT",
        "near",
        "AND here",
        "(use NEAR) or",
        "title:body",
        "^caret",
        "(x)",
        "\"quoted\"",
        "stars*",
        "\"body (x",
    ] {
        assert_eq!(ids(&conn, text), vec![m.id], "{text:?}");
    }
    // Nothing searchable is said plainly, not treated as an error.
    let empty = search(&conn, &SearchQuery::messages("*()\"")).unwrap();
    assert_eq!(empty.hits.len(), 0);
    assert_eq!(empty.notice.as_deref(), Some("Type a word to search for."));
}

#[test]
fn query_reading() {
    let parsed = parse_query("Tea \"green  leaf\" pot* \"half lit\"* NEAR(x) a:b ^c");
    let terms: Vec<(Vec<&str>, bool)> = parsed
        .terms
        .iter()
        .map(|t| (t.tokens.iter().map(String::as_str).collect(), t.prefix))
        .collect();
    assert_eq!(
        terms,
        vec![
            (vec!["tea"], false),
            (vec!["green", "leaf"], false),
            (vec!["pot"], true),
            (vec!["half", "lit"], true),
            (vec!["near", "x"], false),
            (vec!["a", "b"], false),
            (vec!["c"], false),
        ]
    );
    assert_eq!(
        parsed.fts_expression(),
        "\"tea\" \"green leaf\" \"pot\"* \"half lit\"* \"near x\" \"a b\" \"c\""
    );
    let many = parse_query(&"word ".repeat(40));
    assert_eq!(many.terms.len(), MAX_TERMS);
    assert_eq!(
        many.notice.as_deref(),
        Some("Only the first 16 words were searched.")
    );
    let long = parse_query(&"é".repeat(MAX_QUERY_BYTES));
    assert!(long.notice.is_some());
}

#[test]
fn revealing_a_message_makes_its_branch_active() {
    let (_dir, mut conn) = db();
    let c = conversation(&conn, "Branches");
    let root = add(&mut conn, c.id, None, "question");
    let first = add(&mut conn, c.id, Some(root.id), "first answer");
    let first_follow = add(&mut conn, c.id, Some(first.id), "follow-up on the first");
    let second = add(&mut conn, c.id, Some(root.id), "second answer");
    let before = queries::get_conversation(&conn, c.id).unwrap();
    assert_eq!(before.active_leaf, Some(second.id));

    // On another branch: that branch becomes active, down to its end.
    let revealed = reveal_message(&conn, first.id).unwrap();
    assert_eq!(revealed.active_leaf, Some(first_follow.id));
    assert_eq!(revealed.updated_at, before.updated_at);
    let path: Vec<_> = queries::active_path(&conn, &revealed)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(path, vec![root.id, first.id, first_follow.id]);

    // Already on the active branch: nothing changes.
    let again = reveal_message(&conn, root.id).unwrap();
    assert_eq!(again.active_leaf, Some(first_follow.id));

    let missing = MessageId::from_uuid(new_uuid());
    assert!(matches!(
        reveal_message(&conn, missing),
        Err(StoreError::NotFound { .. })
    ));
}
