//! `store-bench`: the conversation store at scale, on a database made by
//! `fill-db` (a million messages; see BENCHMARKS.md for the commands).
//! Measures, in this process and through the store's own functions:
//!
//! - the database's size, and what the search index adds to it;
//! - search latency (p50/p95/p99) for rare terms, common terms, terms in
//!   most messages, and mixed queries, beside FTS5's plain `ORDER BY rank`
//!   for comparison;
//! - opening the conversation with the most messages (its active path);
//! - the cost of one streamed batch (the reply rewritten every 250 ms),
//!   with the index as shipped (indexed when the reply finishes), indexed
//!   on every batch, and with no index;
//! - this process's memory (resident and peak) along the way.
//!
//! Writes a summary to stdout and every number to `--out` (JSON).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use kestrel_bench::words::{Words, long_tail_word};
use kestrel_server::store::{queries, schema, search, tree};
use kestrel_shared::{
    ContentBlock, ConversationId, ConversationView, Message, MessageId, MessageStatus, Role,
    SearchQuery, SearchScope, Timestamp,
};
use rusqlite::{Connection, params};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(name = "store-bench")]
struct Args {
    /// A data directory filled by `fill-db`.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// Timed rounds over each query set.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Streamed replies per write mode.
    #[arg(long, default_value_t = 20)]
    replies: usize,
    /// Batches per streamed reply (20 words each, the text of 250 ms).
    #[arg(long, default_value_t = 100)]
    batches: usize,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/bench/store.json")]
    out: PathBuf,
    /// Only open the longest conversation, this many times, and print its
    /// latency (for profiling that path alone; no report is written).
    #[arg(long, value_name = "RUNS")]
    open_only: Option<usize>,
}

#[derive(Debug, Serialize)]
struct Latency {
    samples: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn latency(mut samples: Vec<f64>) -> Latency {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index]
    };
    Latency {
        samples: samples.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[derive(Debug, Serialize)]
struct QuerySet {
    name: String,
    queries: Vec<String>,
    /// Messages matching each query (min..max over the set).
    matches_min: i64,
    matches_max: i64,
    shipped: Latency,
    shipped_cpu: Latency,
    /// FTS5's own `ORDER BY rank LIMIT 20` with snippets, for comparison.
    plain_bm25: Option<Latency>,
    plain_bm25_cpu: Option<Latency>,
}

#[derive(Debug, Serialize)]
struct WindowRow {
    set: String,
    window: usize,
    wall: Latency,
    cpu: Latency,
}

#[derive(Debug, Serialize)]
struct WriteMode {
    mode: &'static str,
    batch: Latency,
    /// The last write, which marks the reply finished.
    finish: Latency,
    batches_per_second: f64,
}

#[derive(Debug, Default, Serialize)]
struct MemoryPoint {
    at: String,
    rss_kb: u64,
    peak_rss_kb: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    messages: i64,
    conversations: i64,
    indexed_messages: i64,
    database_bytes: u64,
    wal_bytes: u64,
    bytes_by_part: Vec<(String, i64)>,
    search: Vec<QuerySet>,
    windows: Vec<WindowRow>,
    open_longest: Latency,
    open_longest_cpu: Latency,
    open_longest_messages: usize,
    open_longest_json_ms: f64,
    writes: Vec<WriteMode>,
    memory: Vec<MemoryPoint>,
}

fn memory(at: &str) -> MemoryPoint {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    MemoryPoint {
        at: at.to_owned(),
        rss_kb: field("VmRSS:"),
        peak_rss_kb: field("VmHWM:"),
    }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// This thread's CPU time so far, in ms (`CLOCK_THREAD_CPUTIME_ID`). On a
/// machine shared with other work, wall time includes waiting for a CPU;
/// this does not.
fn cpu_ms() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

/// Runs `f`, returning its result, wall time and CPU time (ms).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let cpu = cpu_ms();
    let start = Instant::now();
    let out = f();
    let wall = ms(start);
    (out, wall, cpu_ms() - cpu)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = args.data_dir.join("kestrel.db");
    if !path.exists() {
        bail!("{} does not exist: run fill-db first", path.display());
    }
    let mut memory_points = vec![memory("start")];
    let mut conn = schema::open(&path).context("cannot open the database")?;
    let count = |conn: &Connection, sql: &str| -> anyhow::Result<i64> {
        Ok(conn.query_row(sql, [], |r| r.get(0))?)
    };
    let messages = count(&conn, "SELECT count(*) FROM messages")?;
    let conversations = count(&conn, "SELECT count(*) FROM conversations")?;
    let indexed_messages = count(&conn, "SELECT count(*) FROM message_fts_docsize")?;
    eprintln!("store-bench: {messages} messages in {conversations} conversations");
    memory_points.push(memory("opened"));
    if let Some(runs) = args.open_only {
        let (wall, cpu, messages, _) = open_benchmark(&conn, runs)?;
        println!(
            "open the longest conversation ({messages} messages, {runs} runs): wall p50 {:.1} ms, p95 {:.1} ms; cpu p50 {:.1} ms, p95 {:.1} ms",
            wall.p50_ms, wall.p95_ms, cpu.p50_ms, cpu.p95_ms
        );
        return Ok(());
    }

    let search_sets = search_benchmarks(&conn, args.rounds)?;
    memory_points.push(memory("after searches"));

    let windows = window_benchmarks(&conn, args.rounds)?;
    memory_points.push(memory("after window comparison"));

    let (open_longest, open_longest_cpu, open_longest_messages, open_longest_json_ms) =
        open_benchmark(&conn, args.rounds * 2)?;
    memory_points.push(memory("after opening the longest conversation"));

    let writes = write_benchmarks(&mut conn, args.replies, args.batches)?;
    memory_points.push(memory("after streamed writes"));

    eprintln!("store-bench: measuring the size of each part (reads every page)…");
    let mut stmt = conn.prepare(
        "SELECT CASE
             WHEN name LIKE 'message_fts%' THEN 'message search index'
             WHEN name LIKE 'conversation_fts%' THEN 'title search index'
             WHEN name = 'messages' THEN 'messages'
             WHEN name LIKE '%messages%' OR name LIKE 'messages_%' THEN 'message indexes'
             ELSE 'conversations, settings, schema' END AS part,
           sum(pgsize) FROM dbstat GROUP BY part ORDER BY 2 DESC",
    )?;
    let bytes_by_part = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, i64)>, _>>()?;
    drop(stmt);
    let file_size = |suffix: &str| {
        std::fs::metadata(args.data_dir.join(format!("kestrel.db{suffix}")))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let report = Report {
        messages,
        conversations,
        indexed_messages,
        database_bytes: file_size(""),
        wal_bytes: file_size("-wal"),
        bytes_by_part,
        search: search_sets,
        windows,
        open_longest,
        open_longest_cpu,
        open_longest_messages,
        open_longest_json_ms,
        writes,
        memory: memory_points,
    };
    print_report(&report);
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    eprintln!("store-bench: wrote {}", args.out.display());
    Ok(())
}

fn search_benchmarks(conn: &Connection, rounds: usize) -> anyhow::Result<Vec<QuerySet>> {
    let rare: Vec<String> = (0..40)
        .map(|i| long_tail_word(30_000 + i * 1_700))
        .collect();
    let common: Vec<String> = [
        "garden", "budget", "recipe", "meeting", "schedule", "layout", "thread", "memory",
        "browser", "summary",
    ]
    .map(String::from)
    .to_vec();
    let most: Vec<String> = ["the", "a", "to", "of", "and"].map(String::from).to_vec();
    let mixed: Vec<String> = [
        format!("the {}", long_tail_word(40_000)),
        "garden budget".to_owned(),
        "\"the data\"".to_owned(),
        "serv*".to_owned(),
        "the and of".to_owned(),
        format!("{} memory", long_tail_word(3)),
    ]
    .to_vec();
    let month = 30 * 86_400_000;
    let month_ago = queries::now().0 - month;
    let oldest: i64 = conn.query_row("SELECT min(created_at) FROM messages", [], |r| r.get(0))?;
    let mut sets = Vec::new();
    for (name, queries, scope, since, until) in [
        (
            "rare terms (long-tail words)",
            rare,
            SearchScope::Messages,
            None,
            None,
        ),
        (
            "common terms",
            common.clone(),
            SearchScope::Messages,
            None,
            None,
        ),
        (
            "terms in most messages",
            most,
            SearchScope::Messages,
            None,
            None,
        ),
        (
            "several words, phrases, prefixes",
            mixed,
            SearchScope::Messages,
            None,
            None,
        ),
        (
            "common terms, last 30 days only",
            common.clone(),
            SearchScope::Messages,
            Some(Timestamp(month_ago)),
            None,
        ),
        (
            "common terms, oldest 30 days only",
            common.clone(),
            SearchScope::Messages,
            None,
            Some(Timestamp(oldest + month)),
        ),
        ("titles only", common, SearchScope::Titles, None, None),
    ] {
        eprintln!("store-bench: search, {name}…");
        let query = |text: &str| SearchQuery {
            scope,
            since,
            until,
            ..SearchQuery::messages(text)
        };
        let (mut matches_min, mut matches_max) = (i64::MAX, 0);
        for text in &queries {
            let parsed = search::parse_query(text);
            let matches: i64 = if scope == SearchScope::Titles {
                conn.query_row(
                    "SELECT count(*) FROM conversation_fts WHERE conversation_fts MATCH ?1",
                    [parsed.fts_expression()],
                    |r| r.get(0),
                )?
            } else {
                conn.query_row(
                    "SELECT count(*) FROM message_fts f JOIN messages m ON m.rowid = f.rowid
                     WHERE f.message_fts MATCH ?1 AND m.created_at >= ?2 AND m.created_at < ?3",
                    params![
                        parsed.fts_expression(),
                        since.map_or(i64::MIN, |t| t.0),
                        until.map_or(i64::MAX, |t| t.0)
                    ],
                    |r| r.get(0),
                )?
            };
            matches_min = matches_min.min(matches);
            matches_max = matches_max.max(matches);
            // Warm-up: the pages this query needs are read once.
            search::search(conn, &query(text))?;
        }
        let (mut samples, mut cpu) = (Vec::new(), Vec::new());
        let started = Instant::now();
        for round in 0..rounds {
            // A slow set stops early (its sample count says so).
            if round >= 2 && started.elapsed().as_secs() > 20 {
                break;
            }
            for text in &queries {
                let (results, wall, on_cpu) = timed(|| search::search(conn, &query(text)));
                std::hint::black_box(results?);
                samples.push(wall);
                cpu.push(on_cpu);
            }
        }
        let (plain_bm25, plain_bm25_cpu) =
            if scope == SearchScope::Messages && since.is_none() && until.is_none() {
                let mut stmt = conn.prepare(
                    "SELECT rowid, snippet(message_fts, 0, char(2), char(3), '…', 14)
                 FROM message_fts WHERE message_fts MATCH ?1 ORDER BY rank LIMIT 20",
                )?;
                let (mut samples, mut cpu) = (Vec::new(), Vec::new());
                for _ in 0..rounds.div_ceil(5) {
                    for text in &queries {
                        let expression = search::parse_query(text).fts_expression();
                        let (rows, wall, on_cpu) = timed(|| {
                            stmt.query_map([expression], |r| {
                                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                            })
                            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                        });
                        std::hint::black_box(rows?);
                        samples.push(wall);
                        cpu.push(on_cpu);
                    }
                }
                (Some(latency(samples)), Some(latency(cpu)))
            } else {
                (None, None)
            };
        sets.push(QuerySet {
            name: name.to_owned(),
            queries,
            matches_min,
            matches_max,
            shipped: latency(samples),
            shipped_cpu: latency(cpu),
            plain_bm25,
            plain_bm25_cpu,
        });
    }
    Ok(sets)
}

/// The same searches scoring windows of other sizes.
fn window_benchmarks(conn: &Connection, rounds: usize) -> anyhow::Result<Vec<WindowRow>> {
    let sets: [(&str, &[&str]); 2] = [
        (
            "common terms",
            &["garden", "budget", "recipe", "meeting", "memory"],
        ),
        ("terms in most messages", &["the", "a", "to", "of", "and"]),
    ];
    let mut rows = Vec::new();
    for window in [100, 250, 500, 1000, 2000] {
        for (set, queries) in sets {
            eprintln!("store-bench: window {window}, {set}…");
            let (mut samples, mut cpu) = (Vec::new(), Vec::new());
            for round in 0..=rounds {
                for text in queries {
                    let query = SearchQuery::messages(*text);
                    let (results, wall, on_cpu) =
                        timed(|| search::search_with_window(conn, &query, window));
                    std::hint::black_box(results?);
                    // Round 0 warms the cache.
                    if round > 0 {
                        samples.push(wall);
                        cpu.push(on_cpu);
                    }
                }
            }
            rows.push(WindowRow {
                set: set.to_owned(),
                window,
                wall: latency(samples),
                cpu: latency(cpu),
            });
        }
    }
    Ok(rows)
}

/// Opens the conversation with the most messages, as the app does.
fn open_benchmark(
    conn: &Connection,
    runs: usize,
) -> anyhow::Result<(Latency, Latency, usize, f64)> {
    let id: String = conn.query_row(
        "SELECT conversation_id FROM messages GROUP BY conversation_id
         ORDER BY count(*) DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    let id: ConversationId = id.parse()?;
    let open = || -> anyhow::Result<ConversationView> {
        let conversation = queries::get_conversation(conn, id)?;
        Ok(tree::view(conn, conversation)?)
    };
    let view = open()?;
    let (mut samples, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (view, wall, on_cpu) = timed(open);
        std::hint::black_box(view?);
        samples.push(wall);
        cpu.push(on_cpu);
    }
    let start = Instant::now();
    let json = serde_json::to_vec(&view)?;
    let json_ms = ms(start);
    eprintln!(
        "store-bench: the longest conversation has {} messages on its active path ({} KiB as JSON)",
        view.messages.len(),
        json.len() / 1024
    );
    Ok((latency(samples), latency(cpu), view.messages.len(), json_ms))
}

/// The message triggers as shipped, and the two alternatives measured.
const EVERY_BATCH_TRIGGERS: &str = "
    CREATE TRIGGER message_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, body FROM (SELECT kestrel_index_body(NEW.content) AS body)
        WHERE body IS NOT NULL;
    END;
    CREATE TRIGGER message_fts_update AFTER UPDATE OF content, status ON messages BEGIN
        INSERT INTO message_fts(message_fts, rowid, body)
        SELECT 'delete', OLD.rowid, body FROM (SELECT kestrel_index_body(OLD.content) AS body)
        WHERE body IS NOT NULL;
        INSERT INTO message_fts(rowid, body)
        SELECT NEW.rowid, body FROM (SELECT kestrel_index_body(NEW.content) AS body)
        WHERE body IS NOT NULL;
    END;
    CREATE TRIGGER message_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO message_fts(message_fts, rowid, body)
        SELECT 'delete', OLD.rowid, body FROM (SELECT kestrel_index_body(OLD.content) AS body)
        WHERE body IS NOT NULL;
    END;";

fn write_benchmarks(
    conn: &mut Connection,
    replies: usize,
    batches: usize,
) -> anyhow::Result<Vec<WriteMode>> {
    let shipped: Vec<String> = conn
        .prepare(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'message_fts_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let drop_triggers = "DROP TRIGGER message_fts_insert; DROP TRIGGER message_fts_update;
                         DROP TRIGGER message_fts_delete;";
    let mut modes = Vec::new();
    for mode in [
        "indexed when finished (shipped)",
        "indexed on every batch",
        "no index",
    ] {
        eprintln!("store-bench: streamed writes, {mode}…");
        match mode {
            "indexed on every batch" => {
                conn.execute_batch(drop_triggers)?;
                conn.execute_batch(EVERY_BATCH_TRIGGERS)?;
            }
            "no index" => conn.execute_batch(drop_triggers)?,
            _ => {}
        }
        let measured = stream_replies(conn, replies, batches);
        if mode != "indexed when finished (shipped)" {
            if mode == "indexed on every batch" {
                conn.execute_batch(drop_triggers)?;
            }
            for sql in &shipped {
                conn.execute_batch(sql)?;
            }
        }
        let (batch, finish) = measured?;
        let mean = batch.iter().sum::<f64>() / batch.len().max(1) as f64;
        modes.push(WriteMode {
            mode,
            batch: latency(batch),
            finish: latency(finish),
            batches_per_second: 1000.0 / mean,
        });
    }
    Ok(modes)
}

/// Streams `replies` replies of `batches` batches into new conversations
/// as the turn loop does, then deletes them. Returns the batch and finish
/// write times.
fn stream_replies(
    conn: &mut Connection,
    replies: usize,
    batches: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut words = Words::new(99);
    let mut batch_ms = Vec::new();
    let mut finish_ms = Vec::new();
    let mut made = Vec::new();
    for _ in 0..replies {
        let c = queries::create_conversation(conn, "m", "")?;
        made.push(c.id);
        let user = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            conversation_id: c.id,
            parent_id: None,
            role: Role::User,
            content: vec![ContentBlock::text(words.user_message())],
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: queries::now(),
        };
        queries::insert_message(conn, &user)?;
        let reply = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            parent_id: Some(user.id),
            role: Role::Assistant,
            content: Vec::new(),
            status: MessageStatus::Streaming,
            ..user
        };
        queries::insert_message(conn, &reply)?;
        let mut text = String::new();
        for _ in 0..batches {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&words.words(20));
            let content = [ContentBlock::text(text.clone())];
            let start = Instant::now();
            queries::update_message(conn, reply.id, &content, MessageStatus::Streaming, None)?;
            batch_ms.push(ms(start));
        }
        let content = [ContentBlock::text(text)];
        let start = Instant::now();
        queries::update_message(conn, reply.id, &content, MessageStatus::Complete, None)?;
        finish_ms.push(ms(start));
    }
    for id in made {
        conn.execute("DELETE FROM conversations WHERE id = ?1", [id.to_string()])?;
    }
    Ok((batch_ms, finish_ms))
}

fn print_report(report: &Report) {
    let mib = |b: f64| b / 1024.0 / 1024.0;
    println!(
        "\n{} messages ({} indexed) in {} conversations",
        report.messages, report.indexed_messages, report.conversations
    );
    println!(
        "database: {:.0} MiB (+ {:.0} MiB WAL)",
        mib(report.database_bytes as f64),
        mib(report.wal_bytes as f64)
    );
    for (part, bytes) in &report.bytes_by_part {
        println!("  {part:<34} {:>8.0} MiB", mib(*bytes as f64));
    }
    println!(
        "\nsearch, 20 hits with snippets: wall p50/p95/p99, then CPU p50/p95/p99 (ms) | plain bm25 wall p50/p95, CPU p95"
    );
    for set in &report.search {
        let plain = match (&set.plain_bm25, &set.plain_bm25_cpu) {
            (Some(wall), Some(cpu)) => {
                format!(
                    "{:.1} / {:.1}, cpu {:.1}",
                    wall.p50_ms, wall.p95_ms, cpu.p95_ms
                )
            }
            _ => String::new(),
        };
        println!(
            "  {:<36} {:>7}-{:<7} {:6.2} {:6.2} {:6.2} | cpu {:6.2} {:6.2} {:6.2} | {plain}",
            set.name,
            set.matches_min,
            set.matches_max,
            set.shipped.p50_ms,
            set.shipped.p95_ms,
            set.shipped.p99_ms,
            set.shipped_cpu.p50_ms,
            set.shipped_cpu.p95_ms,
            set.shipped_cpu.p99_ms
        );
    }
    println!("\nwindow size: wall p50/p95, CPU p50/p95/p99 (ms)");
    for row in &report.windows {
        println!(
            "  {:>5} {:<24} {:6.2} {:6.2} | cpu {:6.2} {:6.2} {:6.2}",
            row.window,
            row.set,
            row.wall.p50_ms,
            row.wall.p95_ms,
            row.cpu.p50_ms,
            row.cpu.p95_ms,
            row.cpu.p99_ms
        );
    }
    println!(
        "\nopen the longest conversation ({} messages): wall p50 {:.1} ms, p95 {:.1} ms; cpu p50 {:.1} ms, p95 {:.1} ms; to JSON {:.1} ms",
        report.open_longest_messages,
        report.open_longest.p50_ms,
        report.open_longest.p95_ms,
        report.open_longest_cpu.p50_ms,
        report.open_longest_cpu.p95_ms,
        report.open_longest_json_ms
    );
    println!("\nstreamed batch writes                      p50      p95   finish p50  batches/s");
    for mode in &report.writes {
        println!(
            "  {:<36} {:6.3}ms {:6.3}ms {:8.3}ms {:9.0}",
            mode.mode,
            mode.batch.p50_ms,
            mode.batch.p95_ms,
            mode.finish.p50_ms,
            mode.batches_per_second
        );
    }
    println!("\nmemory of this process");
    for point in &report.memory {
        println!(
            "  {:<40} rss {:>7} KiB  peak {:>7} KiB",
            point.at, point.rss_kb, point.peak_rss_kb
        );
    }
}
