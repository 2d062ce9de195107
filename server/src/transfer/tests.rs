use super::*;
use crate::store::schema;
use kestrel_shared::{ContentBlock, MediaSource, MessageStatus, Role, Timestamp, Usage};
use pretty_assertions::assert_eq;
use serde_json::json;

fn db(dir: &tempfile::TempDir, name: &str) -> Connection {
    schema::open(&dir.path().join(name)).unwrap()
}

fn message(
    conversation: ConversationId,
    parent: Option<MessageId>,
    role: Role,
    content: Vec<ContentBlock>,
    at: i64,
) -> Message {
    Message {
        id: MessageId::from_uuid(queries::new_uuid()),
        conversation_id: conversation,
        parent_id: parent,
        role,
        content,
        status: MessageStatus::Complete,
        model: (role == Role::Assistant).then(|| "claude-x".to_owned()),
        usage: None,
        created_at: Timestamp(at),
    }
}

/// A conversation with two branches and every kind of content block.
fn rich(conn: &mut Connection) -> ConversationId {
    let c = queries::create_conversation(conn, "claude-x", "be brief")
        .unwrap()
        .id;
    let q = message(
        c,
        None,
        Role::User,
        vec![ContentBlock::text("Weather in Oslo?")],
        1,
    );
    let mut a = message(
        c,
        Some(q.id),
        Role::Assistant,
        vec![
            ContentBlock::Thinking {
                thinking: "Use the tool.".into(),
                signature: "EqQB".into(),
            },
            ContentBlock::RedactedThinking { data: "xyz".into() },
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "weather".into(),
                input: json!({"city": "Oslo", "nested": {"deep": [1, 2, {"x": null}]}}),
            },
        ],
        2,
    );
    a.usage = Some(Usage {
        input_tokens: 10,
        output_tokens: 20,
        cache_creation_input_tokens: 3,
        cache_read_input_tokens: 4,
    });
    let r = message(
        c,
        Some(a.id),
        Role::User,
        vec![
            ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: vec![ContentBlock::text("4°C")],
                is_error: false,
            },
            ContentBlock::Image {
                source: MediaSource::Stored {
                    media_type: "image/png".into(),
                    sha256: "ab".repeat(32),
                },
            },
            ContentBlock::Document {
                source: MediaSource::Url {
                    url: "https://example.com/a.pdf".into(),
                },
                title: Some("A".into()),
            },
        ],
        3,
    );
    let mut stopped = message(
        c,
        Some(q.id),
        Role::Assistant,
        vec![ContentBlock::text("Cold")],
        4,
    );
    stopped.status = MessageStatus::Interrupted;
    for m in [&q, &a, &r, &stopped] {
        queries::insert_message(conn, m).unwrap();
    }
    // The first branch is the active one.
    tree::set_active_leaf(conn, c, Some(r.id)).unwrap();
    crate::store::conversations::set_pinned(conn, c, true).unwrap();
    c
}

#[test]
fn our_json_round_trips_the_whole_tree_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = db(&dir, "a.db");
    rich(&mut source);
    let other = queries::create_conversation(&source, "m", "").unwrap().id;
    crate::store::conversations::set_archived(&source, other, true).unwrap();
    let exported = export_all(&source).unwrap();
    let text = serde_json::to_string_pretty(&exported).unwrap();

    let mut target = db(&dir, "b.db");
    let report = import_archive(&mut target, parse_archive(text.as_bytes()).unwrap()).unwrap();
    assert_eq!(
        report,
        ImportReport {
            conversations: 2,
            messages: 4,
            skipped: 0
        }
    );
    let again = export_all(&target).unwrap();
    assert_eq!(again.conversations, exported.conversations);

    // Importing it again adds nothing.
    let report = import_archive(&mut target, parse_archive(text.as_bytes()).unwrap()).unwrap();
    assert_eq!((report.conversations, report.skipped), (0, 2));
}

#[test]
fn one_conversation_exports_as_a_branch_or_a_tree_and_as_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db(&dir, "a.db");
    let c = rich(&mut conn);
    assert_eq!(
        export_conversation(&conn, c, Scope::Tree)
            .unwrap()
            .messages
            .len(),
        4
    );
    let branch = export_conversation(&conn, c, Scope::Branch).unwrap();
    assert_eq!(branch.messages.len(), 3);
    // A branch export is itself importable.
    let mut target = db(&dir, "b.db");
    let report = import_archive(&mut target, Archive::new(vec![branch.clone()])).unwrap();
    assert_eq!(report.messages, 3);

    let markdown = markdown::render(&branch);
    assert!(
        markdown.starts_with(
            "# Conversation\n\n> System prompt: be brief\n\n## You\n\nWeather in Oslo?\n"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("<details><summary>Thinking</summary>\n\nUse the tool."),
        "{markdown}"
    );
    assert!(
        markdown.contains("**Tool call: weather**\n\n```json\n{"),
        "{markdown}"
    );
    assert!(
        markdown.contains("**Tool result**\n\n```\n4°C\n```"),
        "{markdown}"
    );
    assert!(markdown.contains("*(document: A)*"), "{markdown}");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn a_claude_ai_export_imports_in_order_with_titles_and_times() {
    let bytes = fixture("claude-conversations.json");
    assert_eq!(detect(&bytes), Source::Claude);
    let archive = to_archive(Source::Claude, &bytes, "claude-x").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db(&dir, "a.db");
    let report = import_archive(&mut conn, archive).unwrap();
    assert_eq!((report.conversations, report.messages), (2, 3));

    let listed = queries::list_conversations(&conn).unwrap();
    let sourdough = listed
        .iter()
        .find(|c| c.title == "Sourdough starter")
        .unwrap();
    assert_eq!(sourdough.created_at, Timestamp(1_714_566_600_123));
    let path = queries::active_path(&conn, sourdough).unwrap();
    assert_eq!(
        path.iter().map(|m| (m.role, m.text())).collect::<Vec<_>>(),
        vec![
            (Role::User, "How do I feed a sourdough starter?".to_owned()),
            (
                Role::Assistant,
                "Discard half, then add equal weights of flour and water.".to_owned()
            ),
            (
                Role::User,
                "Here is my schedule\n\n[schedule.txt]\n8am: feed".to_owned()
            ),
        ]
    );
    let empty = listed.iter().find(|c| c.title.is_empty()).unwrap();
    assert_eq!(empty.created_at, Timestamp(1_717_308_000_000));
    assert_eq!(empty.active_leaf, None);
}

#[test]
fn a_chatgpt_export_keeps_its_branches_and_current_node() {
    let bytes = fixture("chatgpt-conversations.json");
    assert_eq!(detect(&bytes), Source::ChatGpt);
    let archive = to_archive(Source::ChatGpt, &bytes, "claude-x").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db(&dir, "a.db");
    let report = import_archive(&mut conn, archive).unwrap();
    // System and tool nodes are left out.
    assert_eq!((report.conversations, report.messages), (1, 4));
    let conversation = &queries::list_conversations(&conn).unwrap()[0];
    assert_eq!(conversation.title, "Packing list");
    assert_eq!(conversation.created_at, Timestamp(1_714_566_600_500));
    let path = queries::active_path(&conn, conversation).unwrap();
    assert_eq!(
        path.iter().map(Message::text).collect::<Vec<_>>(),
        vec![
            "What should I pack for a hike?",
            "Water, snacks, a map and a jacket.",
            "And for rain?"
        ]
    );
    // The other reply is a sibling, as it was in ChatGPT.
    let points = tree::branch_points(&conn, conversation.id, &path).unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].label(), "2 / 2");
}

fn unchanged_after(conn: &mut Connection, bytes: &[u8], source: Source) -> String {
    let before = export_all(conn).unwrap().conversations;
    let error = to_archive(source, bytes, "m")
        .and_then(|archive| import_archive(conn, archive))
        .unwrap_err();
    assert_eq!(export_all(conn).unwrap().conversations, before);
    error.to_string()
}

#[test]
fn malformed_and_hostile_files_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db(&dir, "a.db");
    rich(&mut conn);

    let error = unchanged_after(&mut conn, b"{\"hello\": 1}", Source::Kestrel);
    assert!(error.contains("not a valid Kestrel archive"), "{error}");
    let error = unchanged_after(&mut conn, b"not json at all", Source::ChatGpt);
    assert!(error.contains("not a valid ChatGPT export"), "{error}");
    let error = unchanged_after(&mut conn, b"[{\"chat_messages\": 3}]", Source::Claude);
    assert!(error.contains("not a valid Claude.ai export"), "{error}");

    // Nesting far past any real file: refused, not a stack overflow.
    let deep = format!(
        r#"[{{"chat_messages": [{{"uuid": "m", "sender": "human", "content": [{}{}]}}]}}]"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let error = unchanged_after(&mut conn, deep.as_bytes(), Source::Claude);
    assert!(error.contains("recursion limit"), "{error}");

    // One good conversation and one broken one: neither is imported.
    let good = export_all(&conn).unwrap().conversations.remove(0);
    let mut good = good;
    good.conversation.id = ConversationId::from_uuid(queries::new_uuid());
    for m in &mut good.messages {
        m.conversation_id = good.conversation.id;
    }
    let mut broken = good.clone();
    broken.conversation.id = ConversationId::from_uuid(queries::new_uuid());
    for m in &mut broken.messages {
        m.conversation_id = broken.conversation.id;
    }
    broken.messages[0].parent_id = Some(broken.messages[1].id);
    let text = serde_json::to_string(&Archive::new(vec![good, broken])).unwrap();
    let error = unchanged_after(&mut conn, text.as_bytes(), Source::Kestrel);
    assert!(error.contains("form a loop"), "{error}");

    let mut newer = serde_json::to_value(Archive::new(Vec::new())).unwrap();
    newer["version"] = json!(99);
    let error = unchanged_after(&mut conn, newer.to_string().as_bytes(), Source::Kestrel);
    assert!(error.contains("version 99"), "{error}");
}

#[test]
fn a_huge_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conversations.json");
    // A sparse 1 GiB file: no disk used, and nothing of it is read.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1024 * 1024 * 1024)
        .unwrap();
    let error = read_capped(&path).unwrap_err();
    assert!(matches!(error, TransferError::TooLarge { size } if size == 1024 * 1024 * 1024));
    assert!(error.to_string().contains("limited to 256 MiB"), "{error}");
}

#[test]
fn importing_another_programs_export_again_skips_what_it_already_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db(&dir, "a.db");
    for (name, source, counts) in [
        ("claude-conversations.json", Source::Claude, (2, 3)),
        ("chatgpt-conversations.json", Source::ChatGpt, (1, 4)),
    ] {
        let bytes = fixture(name);
        let first = import_archive(&mut conn, to_archive(source, &bytes, "m").unwrap()).unwrap();
        assert_eq!((first.conversations, first.messages), counts, "{name}");
        let second = import_archive(&mut conn, to_archive(source, &bytes, "m").unwrap()).unwrap();
        assert_eq!(
            (second.conversations, second.messages, second.skipped),
            (0, 0, counts.0),
            "{name}"
        );
    }
    assert_eq!(queries::list_conversations(&conn).unwrap().len(), 3);
}

#[test]
fn ids_follow_the_source_ids_and_a_repeated_conversation_still_imports() {
    let claude = |conversation: &str, message: &str| {
        serde_json::json!({
            "uuid": conversation,
            "name": "t",
            "chat_messages": [{ "uuid": message, "sender": "human", "text": "hi" }]
        })
    };
    let import = |list: serde_json::Value| {
        to_archive(Source::Claude, list.to_string().as_bytes(), "m").unwrap()
    };
    let a = import(serde_json::json!([claude("c-1", "m-1")]));
    let b = import(serde_json::json!([claude("c-1", "m-1")]));
    let other = import(serde_json::json!([claude("c-2", "m-1")]));
    let ids = |archive: &Archive| {
        let c = &archive.conversations[0];
        (c.conversation.id, c.messages[0].id)
    };
    assert_eq!(ids(&a), ids(&b));
    assert_ne!(ids(&a).0, ids(&other).0);
    assert_ne!(ids(&a).1, ids(&other).1);
    assert_eq!(ids(&a).0.as_uuid().get_version_num(), 8);

    // The same conversation twice in one file, or one without an id: both
    // import, under new ids.
    let twice = import(serde_json::json!([
        claude("c-1", "m-1"),
        claude("c-1", "m-1"),
        { "name": "no id", "chat_messages": [] }
    ]));
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db(&dir, "a.db");
    let report = import_archive(&mut conn, twice).unwrap();
    assert_eq!((report.conversations, report.messages), (3, 2));
}
