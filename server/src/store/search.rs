//! Full-text search: the FTS5 index over messages and conversation titles
//! (its migration, [`MIGRATION`]), turning what a person typed into a safe
//! FTS5 query ([`parse_query`]), ranking, snippets, and revealing a found
//! message ([`reveal_message`]: its branch becomes the active one).
//!
//! What is indexed: the text blocks of every message whose reply is
//! finished (any status but `streaming`), on every branch, and every
//! conversation title. Thinking, tool calls and tool results are left out:
//! they are the model's working, not what the person read or wrote, are
//! often many times longer than the reply, and would drown the hits a
//! person is looking for (a search for a word the reply used would match
//! every long chain of thought that considered it). A reply being written
//! is indexed once it reaches its final status, so the 250 ms streaming
//! saves cost the index nothing; it is searchable the moment it finishes
//! (or is stopped, fails, or is found interrupted at the next start).
//!
//! Triggers keep the index in step with the tables inside the writing
//! transaction, whoever writes. The index is keyed by the tables' rowids;
//! a `VACUUM` may renumber those, so anything that vacuums must call
//! [`rebuild_index`] afterwards (nothing does today).
//!
//! Ranking (see BENCHMARKS.md for the measurements behind it): FTS5's own
//! `bm25()` counts every row containing each term before it scores one,
//! so a term found in most of a million messages costs over a second of
//! CPU however few hits are returned. Instead the newest
//! [`CANDIDATE_WINDOW`] matches are read (cheap: the index walks in rowid
//! order and stops), and scored here with BM25, taking document
//! frequencies from a bounded probe of the index; snippets are cut from
//! the text already read. When fewer messages match than the window, the
//! ranking covers every match; otherwise it covers the newest window, which
//! the answer says ([`Ranking::NewestWindow`]). A date range first becomes
//! a rowid range (`rowid_bounds`) so the walk seeks straight to it.

use kestrel_shared::{
    Conversation, ConversationId, MAX_SEARCH_LIMIT, MessageId, Ranking, Role, SearchHit,
    SearchQuery, SearchResults, SearchScope, SnippetPart, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::queries::get_conversation;

pub mod body;

/// The migration that creates the index and its triggers, and indexes
/// every row already stored. Appended to [`super::schema::migrations`].
pub const MIGRATION: &str = "
    CREATE VIRTUAL TABLE message_fts USING fts5(
        body,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE INDEX messages_by_time ON messages(created_at);
    CREATE VIRTUAL TABLE conversation_fts USING fts5(
        title,
        tokenize = 'unicode61 remove_diacritics 2'
    );

    CREATE TRIGGER message_fts_insert AFTER INSERT ON messages
    WHEN NEW.status <> 'streaming' BEGIN
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, body FROM (SELECT replace(replace(group_concat(
                   json_extract(value, '$.text'), char(10) || char(10)),
                   char(2), ''), char(3), '') AS body
               FROM json_each(CASE WHEN json_valid(NEW.content) THEN NEW.content ELSE '[]' END)
               WHERE json_extract(value, '$.type') = 'text')
        WHERE body IS NOT NULL AND body <> '';
    END;

    CREATE TRIGGER message_fts_update AFTER UPDATE OF content, status ON messages
    WHEN OLD.status <> 'streaming' OR NEW.status <> 'streaming' BEGIN
        DELETE FROM message_fts WHERE rowid = OLD.rowid;
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, body FROM (SELECT replace(replace(group_concat(
                   json_extract(value, '$.text'), char(10) || char(10)),
                   char(2), ''), char(3), '') AS body
               FROM json_each(CASE WHEN json_valid(NEW.content) THEN NEW.content ELSE '[]' END)
               WHERE json_extract(value, '$.type') = 'text')
        WHERE NEW.status <> 'streaming' AND body IS NOT NULL AND body <> '';
    END;

    CREATE TRIGGER message_fts_delete AFTER DELETE ON messages
    WHEN OLD.status <> 'streaming' BEGIN
        DELETE FROM message_fts WHERE rowid = OLD.rowid;
    END;

    CREATE TRIGGER conversation_fts_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO conversation_fts(rowid, title) VALUES (NEW.rowid, NEW.title);
    END;

    CREATE TRIGGER conversation_fts_update AFTER UPDATE OF title ON conversations
    WHEN OLD.title IS NOT NEW.title BEGIN
        DELETE FROM conversation_fts WHERE rowid = OLD.rowid;
        INSERT INTO conversation_fts(rowid, title) VALUES (NEW.rowid, NEW.title);
    END;

    CREATE TRIGGER conversation_fts_delete AFTER DELETE ON conversations BEGIN
        DELETE FROM conversation_fts WHERE rowid = OLD.rowid;
    END;

    INSERT INTO message_fts(rowid, body)
    SELECT rowid, body FROM (SELECT m.rowid AS rowid, (
            SELECT replace(replace(group_concat(json_extract(value, '$.text'),
                       char(10) || char(10)), char(2), ''), char(3), '')
            FROM json_each(CASE WHEN json_valid(m.content) THEN m.content ELSE '[]' END)
            WHERE json_extract(value, '$.type') = 'text') AS body
        FROM messages m WHERE m.status <> 'streaming')
    WHERE body IS NOT NULL AND body <> '';
    INSERT INTO conversation_fts(rowid, title) SELECT rowid, title FROM conversations;
";

/// The migration that makes the message index external-content: the
/// index keeps its terms but no copy of the text, which it reads back from
/// `messages` through the view `message_text` when a search wants it (the
/// candidates' text, snippets). A copy had been nearly half the database
/// (BENCHMARKS.md), and writing it was part of every finished reply's
/// save. The text indexed is [`body::FUNCTION`]'s, one pass over the
/// stored JSON instead of SQLite's JSON functions (which copied a long
/// reply's text five times inside the writer's transaction).
///
/// An external-content index is told what to forget with the text it
/// indexed (`'delete'` with the old body), which the function recomputes
/// from the old row. The index is rebuilt once from the view, which lists
/// finished messages only, as the triggers index them.
pub const EXTERNAL_CONTENT_MIGRATION: &str = "
    DROP TRIGGER message_fts_insert;
    DROP TRIGGER message_fts_update;
    DROP TRIGGER message_fts_delete;
    DROP TABLE message_fts;

    CREATE VIEW message_text(message_rowid, body) AS
        SELECT rowid, kestrel_index_body(content) FROM messages WHERE status <> 'streaming';

    CREATE VIRTUAL TABLE message_fts USING fts5(
        body,
        content = 'message_text',
        content_rowid = 'message_rowid',
        tokenize = 'unicode61 remove_diacritics 2'
    );

    CREATE TRIGGER message_fts_insert AFTER INSERT ON messages
    WHEN NEW.status <> 'streaming' BEGIN
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, body FROM (SELECT kestrel_index_body(NEW.content) AS body)
        WHERE body IS NOT NULL;
    END;

    CREATE TRIGGER message_fts_update AFTER UPDATE OF content, status ON messages
    WHEN OLD.status <> 'streaming' OR NEW.status <> 'streaming' BEGIN
        INSERT INTO message_fts(message_fts, rowid, body)
        SELECT 'delete', OLD.rowid, body FROM (SELECT kestrel_index_body(OLD.content) AS body)
        WHERE OLD.status <> 'streaming' AND body IS NOT NULL;
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, body FROM (SELECT kestrel_index_body(NEW.content) AS body)
        WHERE NEW.status <> 'streaming' AND body IS NOT NULL;
    END;

    CREATE TRIGGER message_fts_delete AFTER DELETE ON messages
    WHEN OLD.status <> 'streaming' BEGIN
        INSERT INTO message_fts(message_fts, rowid, body)
        SELECT 'delete', OLD.rowid, body FROM (SELECT kestrel_index_body(OLD.content) AS body)
        WHERE body IS NOT NULL;
    END;

    INSERT INTO message_fts(message_fts) VALUES ('rebuild');
";

/// The migration that has each trigger compute a message's indexed text
/// once. The triggers of [`EXTERNAL_CONTENT_MIGRATION`] filtered out
/// messages without text (`WHERE body IS NOT NULL` on a subquery), which
/// SQLite flattens into a second call of [`body::FUNCTION`]: a finished
/// reply's text was then built, and its stored JSON copied, twice while
/// its final save held the writer (over a megabyte each for a long
/// reply). Now every finished message has a row in the index, with no
/// terms when it has no text, exactly as a `'rebuild'` from the view makes
/// it; the rebuild here brings rows indexed by the old triggers in line.
pub const SINGLE_PASS_MIGRATION: &str = "
    DROP TRIGGER message_fts_insert;
    DROP TRIGGER message_fts_update;
    DROP TRIGGER message_fts_delete;

    CREATE TRIGGER message_fts_insert AFTER INSERT ON messages
    WHEN NEW.status <> 'streaming' BEGIN
        INSERT INTO message_fts(rowid, body)
        VALUES (NEW.rowid, kestrel_index_body(NEW.content));
    END;

    CREATE TRIGGER message_fts_update AFTER UPDATE OF content, status ON messages
    WHEN OLD.status <> 'streaming' OR NEW.status <> 'streaming' BEGIN
        INSERT INTO message_fts(message_fts, rowid, body)
        SELECT 'delete', OLD.rowid, kestrel_index_body(OLD.content)
        WHERE OLD.status <> 'streaming';
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, kestrel_index_body(NEW.content)
        WHERE NEW.status <> 'streaming';
    END;

    CREATE TRIGGER message_fts_delete AFTER DELETE ON messages
    WHEN OLD.status <> 'streaming' BEGIN
        INSERT INTO message_fts(message_fts, rowid, body)
        VALUES ('delete', OLD.rowid, kestrel_index_body(OLD.content));
    END;

    INSERT INTO message_fts(message_fts) VALUES ('rebuild');
";

/// How many of the newest matches are read and scored per search.
pub const CANDIDATE_WINDOW: usize = 250;

/// The most words (or quoted phrases) one search uses.
pub const MAX_TERMS: usize = 16;

/// The longest search text read, in bytes; the rest is ignored.
pub const MAX_QUERY_BYTES: usize = 1000;

/// Words of context a snippet shows around its hits.
const SNIPPET_TOKENS: u32 = 14;

/// Markers `snippet()` puts around hits; stripped from indexed text, so
/// they never occur in it.
const OPEN: char = '\u{2}';
const CLOSE: char = '\u{3}';

/// BM25 parameters (the usual ones, as FTS5 uses).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// One thing the search looks for: a word, or words that must occur
/// together; `prefix` when the last word may be the start of a longer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub tokens: Vec<String>,
    pub prefix: bool,
}

/// What was made of a search text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    pub terms: Vec<Term>,
    /// Why some of the text was not used, in words for the person.
    pub notice: Option<String>,
}

impl ParsedQuery {
    /// The FTS5 expression: every term quoted (so nothing the person typed
    /// is FTS5 syntax), all required.
    pub fn fts_expression(&self) -> String {
        let mut out = String::new();
        for term in &self.terms {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push('"');
            out.push_str(&term.tokens.join(" "));
            out.push('"');
            if term.prefix {
                out.push('*');
            }
        }
        out
    }
}

/// Splits text into lower-case words the way the index does (runs of
/// letters and digits). Diacritics are kept here; the index folds them,
/// so `cafe` finds `café`; such a match then counts for nothing in the
/// score, and its snippet comes from FTS5 instead.
pub fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// Reads a search text. Words are required; `"…"` groups words into a
/// phrase (an unclosed quote runs to the end); a `*` right after a word or
/// phrase makes its last word a prefix. Everything else, including FTS5
/// operators (`AND`, `OR`, `NOT`, `NEAR`), brackets, `^`, `:` and `-`, is
/// plain text, so no input is a syntax error.
pub fn parse_query(text: &str) -> ParsedQuery {
    let mut notice = None;
    let mut text = text;
    if text.len() > MAX_QUERY_BYTES {
        let mut end = MAX_QUERY_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text = &text[..end];
        notice = Some(format!(
            "Only the first {MAX_QUERY_BYTES} characters were searched."
        ));
    }
    let mut terms = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let (chunk, after) = if let Some(quoted) = rest.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        // A `*` right after the chunk's last word: after a phrase's closing
        // quote, or inside a bare chunk (`tok*`, `tok*)`).
        let (prefix, after) = match after.strip_prefix('*') {
            Some(after) => (true, after),
            None => {
                let trimmed = chunk.trim_end_matches(|c: char| !c.is_alphanumeric());
                (chunk[trimmed.len()..].starts_with('*'), after)
            }
        };
        rest = after;
        let tokens: Vec<String> = tokenize(chunk).collect();
        if tokens.is_empty() {
            continue;
        }
        if terms.len() == MAX_TERMS {
            notice = Some(format!("Only the first {MAX_TERMS} words were searched."));
            break;
        }
        terms.push(Term { tokens, prefix });
    }
    ParsedQuery { terms, notice }
}

/// Searches messages or titles.
pub fn search(conn: &Connection, query: &SearchQuery) -> Result<SearchResults, StoreError> {
    search_with_window(conn, query, CANDIDATE_WINDOW)
}

/// [`search`] scoring the newest `window` matches (the benchmark compares
/// windows).
pub fn search_with_window(
    conn: &Connection,
    query: &SearchQuery,
    window: usize,
) -> Result<SearchResults, StoreError> {
    let window = window.max(1);
    let parsed = parse_query(&query.text);
    if parsed.terms.is_empty() {
        return Ok(SearchResults {
            hits: Vec::new(),
            ranking: Ranking::AllMatches { matches: 0 },
            notice: Some(
                parsed
                    .notice
                    .unwrap_or_else(|| "Type a word to search for.".to_owned()),
            ),
        });
    }
    let limit = query.limit.clamp(1, MAX_SEARCH_LIMIT) as usize;
    let since = query.since.map_or(i64::MIN, |t| t.0);
    let until = query.until.map_or(i64::MAX, |t| t.0);
    let (hits, ranking) = match query.scope {
        SearchScope::Titles => search_titles(conn, &parsed, since, until, limit)?,
        _ => search_messages(conn, &parsed, since, until, limit, window)?,
    };
    Ok(SearchResults {
        hits,
        ranking,
        notice: parsed.notice,
    })
}

fn search_titles(
    conn: &Connection,
    parsed: &ParsedQuery,
    since: i64,
    until: i64,
    limit: usize,
) -> Result<(Vec<SearchHit>, Ranking), StoreError> {
    let expression = parsed.fts_expression();
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.title, c.updated_at,
                highlight(conversation_fts, 0, char(2), char(3)), bm25(conversation_fts)
         FROM conversation_fts JOIN conversations c ON c.rowid = conversation_fts.rowid
         WHERE conversation_fts MATCH ?1 AND c.updated_at >= ?2 AND c.updated_at < ?3
         ORDER BY bm25(conversation_fts), c.updated_at DESC",
    )?;
    let mut rows = stmt.query(params![expression, since, until])?;
    let mut hits = Vec::new();
    let mut matches = 0u64;
    while let Some(row) = rows.next()? {
        matches += 1;
        if hits.len() < limit {
            let id: String = row.get(0)?;
            let marked: String = row.get(3)?;
            let bm25: f64 = row.get(4)?;
            hits.push(SearchHit {
                conversation_id: parse(&id, "conversation id")?,
                conversation_title: row.get(1)?,
                message_id: None,
                role: None,
                created_at: Timestamp(row.get(2)?),
                snippet: snippet_parts(&marked),
                // FTS5's bm25() is negative, lower is better.
                score: -bm25,
            });
        }
    }
    Ok((hits, Ranking::AllMatches { matches }))
}

/// A match read from the index: its rowid and indexed text.
struct Candidate {
    rowid: i64,
    body: String,
}

fn search_messages(
    conn: &Connection,
    parsed: &ParsedQuery,
    since: i64,
    until: i64,
    limit: usize,
    window: usize,
) -> Result<(Vec<SearchHit>, Ranking), StoreError> {
    let expression = parsed.fts_expression();
    let candidates = newest_matches(conn, &expression, since, until, window)?;
    let ranking = if candidates.len() < window {
        Ranking::AllMatches {
            matches: candidates.len() as u64,
        }
    } else {
        Ranking::NewestWindow {
            window: window as u64,
        }
    };
    if candidates.is_empty() {
        return Ok((Vec::new(), ranking));
    }
    // With one term every candidate shares its weight, so only a query of
    // several terms needs their document frequencies.
    let weights = if parsed.terms.len() > 1 {
        term_weights(conn, parsed, window)?
    } else {
        vec![1.0]
    };
    let mut scored = score(&candidates, &parsed.terms, &weights);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.truncate(limit);

    let mut meta = conn.prepare_cached(
        "SELECT m.id, m.conversation_id, m.role, m.created_at, c.title
         FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.rowid = ?1",
    )?;
    let mut hits = Vec::with_capacity(scored.len());
    for (rowid, score) in scored {
        let Some((id, conversation, role, created_at, title)) = meta
            .query_row([rowid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?
        else {
            continue;
        };
        let body = candidates
            .iter()
            .find(|c| c.rowid == rowid)
            .map_or("", |c| c.body.as_str());
        let snippet = match rust_snippet(body, &parsed.terms) {
            Some(parts) => parts,
            None => fts_snippet(conn, &expression, rowid)?,
        };
        hits.push(SearchHit {
            conversation_id: parse(&conversation, "conversation id")?,
            conversation_title: title,
            message_id: Some(parse(&id, "message id")?),
            role: Some(match role.as_str() {
                "user" => Role::User,
                _ => Role::Assistant,
            }),
            created_at: Timestamp(created_at),
            snippet,
            score,
        });
    }
    Ok((hits, ranking))
}

/// The newest `window` messages matching `expression` written in
/// `since..until`, newest first. The index is walked in rowid order and
/// stops after `window` matches, whatever the total.
fn newest_matches(
    conn: &Connection,
    expression: &str,
    since: i64,
    until: i64,
    window: usize,
) -> Result<Vec<Candidate>, StoreError> {
    let window = i64::try_from(window).unwrap_or(i64::MAX);
    let read = |row: &rusqlite::Row<'_>| {
        Ok(Candidate {
            rowid: row.get(0)?,
            body: row.get(1)?,
        })
    };
    if since == i64::MIN && until == i64::MAX {
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, body FROM message_fts WHERE message_fts MATCH ?1
             ORDER BY rowid DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![expression, window], read)?;
        Ok(rows.collect::<Result<_, _>>()?)
    } else {
        let (low, high) = rowid_bounds(conn, since, until)?;
        let mut stmt = conn.prepare_cached(
            "SELECT f.rowid, f.body FROM message_fts f CROSS JOIN messages m ON m.rowid = f.rowid
             WHERE f.message_fts MATCH ?1 AND f.rowid BETWEEN ?5 AND ?6
               AND m.created_at >= ?3 AND m.created_at < ?4
             ORDER BY f.rowid DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![expression, window, since, until, low, high], read)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Messages a date bound may scan through `messages_by_time` to narrow
/// the rowids a dated search walks.
const BOUND_SCAN: i64 = 100_000;

/// The rowids every message written in `since..until` lies within, found
/// from whichever side of the range holds few messages (at most
/// [`BOUND_SCAN`]): the newest messages when `since` is recent, the
/// oldest when `until` is early. The index then seeks straight to the
/// range instead of passing every newer match. Exact whatever order
/// messages were stored in (an imported old message has a new rowid and
/// simply widens the range); the date itself is still checked per row.
fn rowid_bounds(conn: &Connection, since: i64, until: i64) -> Result<(i64, i64), StoreError> {
    let mut low = i64::MIN;
    let mut high = i64::MAX;
    if since != i64::MIN {
        let mut stmt = conn.prepare_cached(
            "SELECT count(*), min(r) FROM (SELECT rowid AS r FROM messages
             WHERE created_at >= ?1 ORDER BY created_at DESC LIMIT ?2)",
        )?;
        let (count, min): (i64, Option<i64>) = stmt
            .query_row(params![since, BOUND_SCAN + 1], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if count <= BOUND_SCAN {
            // No message at all in or after the range: nothing can match.
            low = min.unwrap_or(i64::MAX);
        }
    }
    if until != i64::MAX {
        let mut stmt = conn.prepare_cached(
            "SELECT count(*), max(r) FROM (SELECT rowid AS r FROM messages
             WHERE created_at < ?1 ORDER BY created_at ASC LIMIT ?2)",
        )?;
        let (count, max): (i64, Option<i64>) = stmt
            .query_row(params![until, BOUND_SCAN + 1], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if count <= BOUND_SCAN {
            high = max.unwrap_or(i64::MIN);
        }
    }
    Ok((low, high))
}

/// Each term's inverse document frequency. A term matching fewer rows than
/// the window is counted exactly; a commoner one is estimated from how
/// much of the rowid range its newest `window` matches span.
fn term_weights(
    conn: &Connection,
    parsed: &ParsedQuery,
    window: usize,
) -> Result<Vec<f64>, StoreError> {
    let bounds: Option<(i64, i64)> = conn
        .query_row(
            "SELECT (SELECT rowid FROM message_fts ORDER BY rowid ASC LIMIT 1),
                    (SELECT rowid FROM message_fts ORDER BY rowid DESC LIMIT 1)",
            [],
            |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .map(|(low, high)| low.zip(high))?;
    let Some((low, high)) = bounds else {
        return Ok(vec![1.0; parsed.terms.len()]);
    };
    let total = (high - low + 1) as f64;
    let mut probe = conn.prepare_cached(
        "SELECT count(*), min(rowid) FROM (SELECT rowid FROM message_fts
         WHERE message_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)",
    )?;
    let window = i64::try_from(window).unwrap_or(i64::MAX);
    let mut weights = Vec::with_capacity(parsed.terms.len());
    for term in &parsed.terms {
        let single = ParsedQuery {
            terms: vec![term.clone()],
            notice: None,
        };
        let (count, oldest): (i64, Option<i64>) = probe
            .query_row(params![single.fts_expression(), window], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let df = match oldest {
            Some(oldest) if count >= window => {
                let span = (high - oldest + 1).max(1) as f64;
                (count as f64 * total / span).min(total)
            }
            _ => count as f64,
        };
        weights.push(idf(total, df));
    }
    Ok(weights)
}

/// BM25's inverse document frequency (never negative).
fn idf(total: f64, df: f64) -> f64 {
    ((total - df + 0.5) / (df + 0.5) + 1.0).ln()
}

/// The byte ranges of the words of `text`, as [`tokenize`] splits them.
fn word_spans(text: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
}

/// Whether the word `have` is the query word `want` (lower case), or
/// starts with it when `prefix`. Allocates only for non-ASCII words.
fn word_matches(have: &str, want: &str, prefix: bool) -> bool {
    if have.is_ascii() {
        if prefix {
            have.len() >= want.len() && have[..want.len()].eq_ignore_ascii_case(want)
        } else {
            have.eq_ignore_ascii_case(want)
        }
    } else {
        let lower = have.to_lowercase();
        if prefix {
            lower.starts_with(want)
        } else {
            lower == want
        }
    }
}

/// The word indexes at which `term` occurs in `text` (split into `spans`).
fn term_starts<'a>(
    text: &'a str,
    spans: &'a [(usize, usize)],
    term: &'a Term,
) -> impl Iterator<Item = usize> + 'a {
    let n = term.tokens.len();
    (0..spans.len().saturating_sub(n.saturating_sub(1))).filter(move |&i| {
        n > 0
            && term.tokens.iter().enumerate().all(|(k, want)| {
                let (a, b) = spans[i + k];
                word_matches(&text[a..b], want, term.prefix && k + 1 == n)
            })
    })
}

/// BM25 of every candidate: `(rowid, score)`. Document lengths are
/// measured against the candidates' average length.
fn score(candidates: &[Candidate], terms: &[Term], weights: &[f64]) -> Vec<(i64, f64)> {
    let mut spans = Vec::new();
    let counted: Vec<(usize, Vec<usize>)> = candidates
        .iter()
        .map(|c| {
            word_spans(&c.body, &mut spans);
            let tf = terms
                .iter()
                .map(|t| term_starts(&c.body, &spans, t).count())
                .collect();
            (spans.len(), tf)
        })
        .collect();
    let average =
        counted.iter().map(|(len, _)| *len).sum::<usize>() as f64 / counted.len().max(1) as f64;
    let average = average.max(1.0);
    candidates
        .iter()
        .zip(&counted)
        .map(|(candidate, (length, tfs))| {
            let length = *length as f64;
            let score = tfs
                .iter()
                .zip(weights)
                .map(|(&tf, weight)| {
                    let tf = tf as f64;
                    weight * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / average))
                })
                .sum();
            (candidate.rowid, score)
        })
        .collect()
}

/// The stretch of `text` around its densest cluster of matches, as
/// snippet parts, or `None` if no word matches here (a match the index
/// made by folding diacritics; the caller asks FTS5 instead).
fn rust_snippet(text: &str, terms: &[Term]) -> Option<Vec<SnippetPart>> {
    let mut spans = Vec::new();
    word_spans(text, &mut spans);
    // Every occurrence as a word range; a phrase is one range.
    let mut hits: Vec<(usize, usize)> = terms
        .iter()
        .flat_map(|t| term_starts(text, &spans, t).map(move |i| (i, i + t.tokens.len())))
        .collect();
    if hits.is_empty() {
        return None;
    }
    hits.sort_unstable();
    let size = SNIPPET_TOKENS as usize;
    // The window of `size` words starting at a hit that covers most hits.
    let best = hits
        .iter()
        .map(|&(first, _)| {
            let covered = hits
                .iter()
                .filter(|&&(a, b)| a >= first && b <= first + size)
                .count();
            (covered, std::cmp::Reverse(first))
        })
        .max()
        .map_or(0, |(_, std::cmp::Reverse(first))| first);
    // A little context before the first hit, the window kept in the text.
    let start = best.saturating_sub(3).min(spans.len().saturating_sub(size));
    let end = (start + size).min(spans.len());
    let mut parts = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if text.is_empty() {
            return;
        }
        match parts.last_mut() {
            Some(SnippetPart { text: last, hit: h }) if *h == hit => last.push_str(text),
            _ => parts.push(SnippetPart {
                text: text.to_owned(),
                hit,
            }),
        }
    };
    let from = spans[start].0;
    let to = spans[end - 1].1;
    if start > 0 {
        push("…", false);
    }
    let mut at = from;
    for &(a, b) in hits.iter().filter(|&&(a, b)| a >= start && b <= end) {
        let (a, b) = (spans[a].0.max(at), spans[b - 1].1);
        if b <= at {
            continue;
        }
        push(&text[at..a], false);
        push(&text[a..b], true);
        at = b;
    }
    push(&text[at..to], false);
    if end < spans.len() {
        push("…", false);
    }
    Some(parts)
}

/// FTS5's own snippet of one row.
fn fts_snippet(
    conn: &Connection,
    expression: &str,
    rowid: i64,
) -> Result<Vec<SnippetPart>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT snippet(message_fts, 0, char(2), char(3), '…', {SNIPPET_TOKENS})
         FROM message_fts WHERE message_fts MATCH ?1 AND rowid = ?2"
    ))?;
    let marked: String = stmt.query_row(params![expression, rowid], |r| r.get(0))?;
    Ok(snippet_parts(&marked))
}

/// Splits text marked with [`OPEN`]/[`CLOSE`] into snippet parts.
fn snippet_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut hit = false;
    let mut current = String::new();
    for c in marked.chars() {
        let toggle = match c {
            OPEN => Some(true),
            CLOSE => Some(false),
            _ => None,
        };
        match toggle {
            Some(next) => {
                if !current.is_empty() {
                    parts.push(SnippetPart {
                        text: std::mem::take(&mut current),
                        hit,
                    });
                }
                hit = next;
            }
            None => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(SnippetPart { text: current, hit });
    }
    parts
}

fn parse<T: std::str::FromStr>(text: &str, what: &'static str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::NotFound {
        what,
        id: text.to_owned(),
    })
}

/// Makes the branch holding `message` its conversation's active one, and
/// returns the conversation. If the active branch already runs through it,
/// nothing changes; otherwise the branch continues from `message` along
/// its newest replies to their end. The conversation's last-activity time
/// is left alone: finding a message is not a change to it.
pub fn reveal_message(conn: &Connection, message: MessageId) -> Result<Conversation, StoreError> {
    let conversation: Option<String> = conn
        .query_row(
            "SELECT conversation_id FROM messages WHERE id = ?1",
            [message.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let conversation: ConversationId = match conversation {
        Some(id) => parse(&id, "conversation id")?,
        None => {
            return Err(StoreError::NotFound {
                what: "message",
                id: message.to_string(),
            });
        }
    };
    let current = get_conversation(conn, conversation)?;
    if let Some(leaf) = current.active_leaf {
        let on_path: bool = conn
            .query_row(
                "WITH RECURSIVE path(id) AS (
                    SELECT ?1
                    UNION ALL
                    SELECT m.parent_id FROM messages m JOIN path ON m.id = path.id
                    WHERE m.parent_id IS NOT NULL
                 )
                 SELECT EXISTS (SELECT 1 FROM path WHERE id = ?2)",
                params![leaf.to_string(), message.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false);
        if on_path {
            return Ok(current);
        }
    }
    let leaf: String = conn.query_row(
        "WITH RECURSIVE down(id, depth) AS (
            SELECT ?1, 0
            UNION ALL
            SELECT (SELECT c.id FROM messages c WHERE c.parent_id = down.id
                    ORDER BY c.created_at DESC, c.rowid DESC LIMIT 1), depth + 1
            FROM down WHERE down.id IS NOT NULL
         )
         SELECT id FROM down WHERE id IS NOT NULL ORDER BY depth DESC LIMIT 1",
        [message.to_string()],
        |r| r.get(0),
    )?;
    conn.execute(
        "UPDATE conversations SET active_leaf = ?2 WHERE id = ?1",
        params![conversation.to_string(), leaf],
    )?;
    get_conversation(conn, conversation)
}

/// Rebuilds both indexes from the tables (after anything that may have
/// renumbered rowids, such as `VACUUM`).
pub fn rebuild_index(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "INSERT INTO message_fts(message_fts) VALUES ('rebuild');
         DELETE FROM conversation_fts;
         INSERT INTO conversation_fts(rowid, title) SELECT rowid, title FROM conversations;
         INSERT INTO message_fts(message_fts) VALUES ('optimize');
         INSERT INTO conversation_fts(conversation_fts) VALUES ('optimize');",
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
