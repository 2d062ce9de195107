//! The text a message gives the search index: its text blocks, joined by a
//! blank line, with the two control characters that mark snippet
//! highlights (STX, ETX) removed so stored text can never forge one.
//!
//! It is the SQL function `kestrel_index_body(content)`, registered on
//! every connection ([`register`]) and called by the index's triggers. One
//! pass over the stored JSON, borrowing the text where it can, and one
//! output string: the same result as SQLite's `json_each`, `group_concat`
//! and two `replace`s, which made five copies of a long reply's text while
//! the reply's final save held the database's writer.

use std::borrow::Cow;

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use serde::Deserialize;

/// The SQL name of [`index_body`].
pub const FUNCTION: &str = "kestrel_index_body";

/// Registers [`FUNCTION`] on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let content = ctx.get_raw(0).as_str_or_null().unwrap_or_default();
            Ok(content.and_then(index_body))
        },
    )
}

/// One stored content block, as far as the index cares.
#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Text<'a>>,
}

/// A string borrowed from the JSON unless it holds escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The indexed text of a message's stored `content` (a JSON array of
/// content blocks), or `None` when it has no text to index (no text
/// blocks, only empty ones, or content that is not a JSON array of
/// objects: such a row stays stored, just unsearchable).
pub fn index_body(content: &str) -> Option<String> {
    let blocks: Vec<Block<'_>> = serde_json::from_str(content).ok()?;
    let mut texts = blocks
        .iter()
        .filter(|block| block.kind == "text")
        .filter_map(|block| block.text.as_ref());
    let first = texts.next()?;
    let mut body = String::with_capacity(
        blocks
            .iter()
            .filter_map(|b| b.text.as_ref())
            .map(|t| t.0.len() + 2)
            .sum(),
    );
    push_clean(&mut body, &first.0);
    for text in texts {
        body.push_str("\n\n");
        push_clean(&mut body, &text.0);
    }
    (!body.is_empty()).then_some(body)
}

/// Appends `text` without STX and ETX.
fn push_clean(to: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['\u{2}', '\u{3}']) {
        to.push_str(&rest[..at]);
        rest = &rest[at + 1..];
    }
    to.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// What the triggers computed in SQL before this function existed.
    const SQL_BODY: &str = "SELECT replace(replace(group_concat(
               json_extract(value, '$.text'), char(10) || char(10)),
               char(2), ''), char(3), '')
           FROM json_each(CASE WHEN json_valid(?1) THEN ?1 ELSE '[]' END)
           WHERE json_extract(value, '$.type') = 'text'";

    fn both(content: &str) -> (Option<String>, Option<String>) {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let sql: Option<String> = conn.query_row(SQL_BODY, [content], |r| r.get(0)).unwrap();
        let sql = sql.filter(|body| !body.is_empty());
        let ours: Option<String> = conn
            .query_row(&format!("SELECT {FUNCTION}(?1)"), [content], |r| r.get(0))
            .unwrap();
        (ours, sql)
    }

    #[test]
    fn matches_the_sql_it_replaces() {
        for content in [
            r#"[{"type":"text","text":"one"},{"type":"text","text":"two"}]"#,
            r#"[{"type":"thinking","thinking":"hidden","signature":"s"},{"type":"text","text":"shown"}]"#,
            r#"[{"type":"tool_use","id":"t","name":"n","input":{"text":"not me"}},{"type":"text","text":"a"}]"#,
            r#"[{"type":"text","text":"x\u0002y\u0003z \"quoted\" \\ é 🦀"}]"#,
            r#"[{"type":"text","text":""}]"#,
            r#"[{"type":"text","text":""},{"type":"text","text":"b"}]"#,
            r#"[{"type":"text"},{"type":"text","text":"after a block without text"}]"#,
            r#"[{"type":"image","source":{"type":"url","url":"u"}}]"#,
            r#"[]"#,
            "not json",
            "",
        ] {
            let (ours, sql) = both(content);
            assert_eq!(ours, sql, "{content}");
        }
    }

    #[test]
    fn a_long_reply_is_one_body() {
        let text = "word ".repeat(100_000);
        let content = serde_json::json!([{"type": "text", "text": text}]).to_string();
        assert_eq!(index_body(&content).as_deref(), Some(text.as_str()));
    }

    #[test]
    fn null_content_has_no_body() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let body: Option<String> = conn
            .query_row(&format!("SELECT {FUNCTION}(NULL)"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(body, None);
    }
}
