//! Upgrades lose nothing: for every earlier schema version, a database is
//! built with the migration steps up to that version, filled with the SQL
//! that version understood, then opened by this build (which migrates it
//! to the latest version) and read back whole.

use kestrel_server::store::{queries, schema};
use kestrel_shared::{ContentBlock, MessageStatus, Role, Theme};
use pretty_assertions::assert_eq;
use rusqlite::{Connection, params};

const CONVERSATION: &str = "01890a5d-ac96-774b-bcce-b302099a8058";
const QUESTION: &str = "01890a5d-ac96-774b-bcce-b302099a8057";
const REPLY: &str = "01890a5d-ac96-774b-bcce-b302099a8059";
const SIBLING: &str = "01890a5d-ac96-774b-bcce-b302099a805a";

/// Writes the same conversation with the columns of schema version 1,
/// which every later version keeps.
fn seed(conn: &Connection) {
    conn.execute(
        "INSERT INTO conversations (id, title, system_prompt, model, active_leaf, created_at, updated_at)
         VALUES (?1, 'Old chat', 'be brief', 'claude-old', ?2, 10, 20)",
        params![CONVERSATION, SIBLING],
    )
    .unwrap();
    let insert = "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, model, usage, created_at)
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    conn.execute(
        insert,
        params![
            QUESTION,
            CONVERSATION,
            None::<String>,
            "user",
            r#"[{"type":"text","text":"Hi ✓"}]"#,
            "complete",
            None::<String>,
            None::<String>,
            11
        ],
    )
    .unwrap();
    conn.execute(
        insert,
        params![
            REPLY, CONVERSATION, QUESTION, "assistant",
            r#"[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"text","text":"Hello"}]"#,
            "interrupted", "claude-old",
            r#"{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}"#, 12
        ],
    )
    .unwrap();
    conn.execute(
        insert,
        params![
            SIBLING,
            CONVERSATION,
            QUESTION,
            "assistant",
            r#"[{"type":"text","text":"Hey"}]"#,
            "complete",
            "claude-old",
            None::<String>,
            13
        ],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('theme', '\"dark\"')",
        [],
    )
    .unwrap();
}

#[test]
fn every_earlier_schema_version_upgrades_without_losing_data() {
    let latest = schema::latest_version();
    assert!(latest >= 2, "there is an earlier version to upgrade from");
    for version in 1..latest {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            // As every connection is set up (later steps' triggers call a
            // function of ours).
            schema::configure(&conn).unwrap();
            schema::migrations().to_version(&mut conn, version).unwrap();
            let at: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(at, i64::try_from(version).unwrap());
            seed(&conn);
        }

        let conn = schema::open(&path).unwrap();
        let at: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(at, i64::try_from(latest).unwrap(), "from version {version}");

        let conversations = queries::list_conversations(&conn).unwrap();
        assert_eq!(conversations.len(), 1, "from version {version}");
        let conversation = &conversations[0];
        assert_eq!(
            (
                conversation.id.to_string(),
                conversation.title.as_str(),
                conversation.system_prompt.as_str(),
                conversation.model.as_str(),
                conversation.created_at.0,
                conversation.updated_at.0,
            ),
            (
                CONVERSATION.to_owned(),
                "Old chat",
                "be brief",
                "claude-old",
                10,
                20
            )
        );
        let path = queries::active_path(&conn, conversation).unwrap();
        assert_eq!(
            path.iter().map(|m| m.id.to_string()).collect::<Vec<_>>(),
            vec![QUESTION, SIBLING]
        );
        assert_eq!(path[0].content, vec![ContentBlock::text("Hi ✓")]);
        let reply = queries::get_message(&conn, REPLY.parse().unwrap()).unwrap();
        assert_eq!(
            (reply.role, reply.status, reply.model.as_deref()),
            (
                Role::Assistant,
                MessageStatus::Interrupted,
                Some("claude-old")
            )
        );
        assert_eq!(
            reply.content,
            vec![
                ContentBlock::Thinking {
                    thinking: "hm".into(),
                    signature: "sig".into()
                },
                ContentBlock::text("Hello")
            ]
        );
        assert_eq!(
            reply.usage.map(|u| (u.input_tokens, u.output_tokens)),
            Some((3, 4))
        );
        assert_eq!(queries::load_settings(&conn).unwrap().theme, Theme::Dark);
    }
}
