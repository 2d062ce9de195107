//! `fill-db`: creates (or adds to) a Kestrel database holding many
//! conversations of realistic text, through the store's own schema (so the
//! search index's triggers index every message as the app would), one
//! transaction per conversation.
//!
//! The desktop benchmarks' 1,000 short conversations:
//! `fill-db --data-dir DIR --conversations 1000 --messages-per 2`
//!
//! The store benchmark's million messages (see BENCHMARKS.md):
//! `fill-db --data-dir DIR --conversations 10000 --total-messages 1000000
//!  --long-conversation 10000 --long-tail 2 --span-days 730`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use kestrel_bench::words::Words;
use kestrel_server::config::DEFAULT_MODEL;
use kestrel_server::store::{queries, schema};
use kestrel_shared::{ContentBlock, MessageId, Usage};
use rusqlite::params;

/// Fills a Kestrel data directory with conversations.
#[derive(Debug, Parser)]
#[command(name = "fill-db")]
struct Args {
    /// Kestrel's data directory (the database is `kestrel.db` in it).
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// How many conversations to add.
    #[arg(long, default_value_t = 1000)]
    conversations: usize,
    /// Messages per conversation, alternating user and assistant.
    #[arg(long, default_value_t = 2)]
    messages_per: usize,
    /// Messages in all, shared evenly by the conversations (after the long
    /// one); overrides `--messages-per`.
    #[arg(long)]
    total_messages: Option<usize>,
    /// Messages in the first conversation, one unbroken branch.
    #[arg(long, default_value_t = 0)]
    long_conversation: usize,
    /// Long-tail words (names, jargon) per message; with any, replies are
    /// 30 to 400 words long instead of a few sentences.
    #[arg(long, default_value_t = 0)]
    long_tail: usize,
    /// Spread the messages' times over this many past days (0: now).
    #[arg(long, default_value_t = 0)]
    span_days: u64,
    /// Seed of the text generator (the same seed gives the same texts).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Seconds between two messages of a conversation.
const MESSAGE_GAP_MS: i64 = 20_000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let path = args.data_dir.join("kestrel.db");
    let started = Instant::now();
    let mut conn =
        schema::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut words = Words::new(args.seed);
    let now = queries::now().0;
    let span_ms = i64::try_from(args.span_days).unwrap_or(0) * 86_400_000;
    let counts = message_counts(&args);
    let total: usize = counts.iter().sum();
    let mut added = 0usize;
    for (index, &count) in counts.iter().enumerate() {
        let start = now - span_ms + span_ms * index as i64 / counts.len().max(1) as i64;
        let conversation = queries::create_conversation(&conn, DEFAULT_MODEL, "")?;
        let tx = conn.transaction()?;
        let mut parent: Option<MessageId> = None;
        let mut at = start;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, model, usage, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'complete', ?6, ?7, ?8)",
            )?;
            for i in 0..count {
                let user = i.is_multiple_of(2);
                let text = match (user, args.long_tail) {
                    (true, 0) => words.user_message(),
                    (false, 0) => words.assistant_message(),
                    (true, tail) => {
                        let text = words.user_message();
                        words.with_tail(text, tail)
                    }
                    (false, tail) => {
                        let length = words.between(30, 400);
                        let text = words.words(length);
                        words.with_tail(text, tail)
                    }
                };
                let id = MessageId::from_uuid(queries::new_uuid());
                let usage = (!user).then(|| Usage {
                    input_tokens: 20 + (text.len() as u64 / 8),
                    output_tokens: text.len() as u64 / 4,
                    ..Usage::default()
                });
                insert.execute(params![
                    id.to_string(),
                    conversation.id.to_string(),
                    parent.map(|p| p.to_string()),
                    if user { "user" } else { "assistant" },
                    serde_json::to_string(&[ContentBlock::text(text)])?,
                    (!user).then_some(DEFAULT_MODEL),
                    usage.map(|u| serde_json::to_string(&u)).transpose()?,
                    at,
                ])?;
                parent = Some(id);
                at += MESSAGE_GAP_MS;
            }
        }
        let title = words.title();
        tx.execute(
            "UPDATE conversations SET title = ?2, active_leaf = ?3, created_at = ?4, updated_at = ?5
             WHERE id = ?1",
            params![
                conversation.id.to_string(),
                title,
                parent.map(|p| p.to_string()),
                start,
                at.max(start)
            ],
        )?;
        tx.commit()?;
        added += count;
        if index % 500 == 499 {
            eprintln!(
                "fill-db: {added} of {total} messages, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "fill-db: added {} conversations with {total} messages to {} in {:.1} s",
        counts.len(),
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How many messages each conversation gets.
fn message_counts(args: &Args) -> Vec<usize> {
    let mut counts = Vec::with_capacity(args.conversations);
    let long = usize::from(args.long_conversation > 0 && args.conversations > 0);
    if long == 1 {
        counts.push(args.long_conversation);
    }
    let rest = args.conversations - long;
    match args.total_messages {
        Some(total) if rest > 0 => {
            let left = total.saturating_sub(args.long_conversation * long);
            for i in 0..rest {
                counts.push(left / rest + usize::from(i < left % rest));
            }
        }
        _ => counts.extend(std::iter::repeat_n(args.messages_per, rest)),
    }
    counts
}
