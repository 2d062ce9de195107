//! `fill-db`: creates (or adds to) a Kestrel database holding many
//! conversations of realistic short texts, through the store's own schema
//! and queries, for the "1,000 stored conversations" benchmarks.
//!
//! `fill-db --data-dir DIR --conversations 1000 --messages-per 2`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use kestrel_bench::words::Words;
use kestrel_server::config::DEFAULT_MODEL;
use kestrel_server::store::{queries, schema};
use kestrel_shared::{ContentBlock, Message, MessageId, MessageStatus, Role, Usage};

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
    /// Seed of the text generator (the same seed gives the same texts).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let path = args.data_dir.join("kestrel.db");
    let started = Instant::now();
    let mut conn =
        schema::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut words = Words::new(args.seed);
    for _ in 0..args.conversations {
        let conversation = queries::create_conversation(&conn, DEFAULT_MODEL, "")?;
        queries::set_title_if_empty(&conn, conversation.id, &words.title())?;
        let mut parent = None;
        for i in 0..args.messages_per {
            let (role, text) = if i.is_multiple_of(2) {
                (Role::User, words.user_message())
            } else {
                (Role::Assistant, words.assistant_message())
            };
            let assistant = role == Role::Assistant;
            let message = Message {
                id: MessageId::from_uuid(queries::new_uuid()),
                conversation_id: conversation.id,
                parent_id: parent,
                role,
                usage: assistant.then(|| Usage {
                    input_tokens: 20 + (text.len() as u64 / 8),
                    output_tokens: text.len() as u64 / 4,
                    ..Usage::default()
                }),
                content: vec![ContentBlock::text(text)],
                status: MessageStatus::Complete,
                model: assistant.then(|| DEFAULT_MODEL.to_owned()),
                created_at: queries::now(),
            };
            queries::insert_message(&mut conn, &message)?;
            parent = Some(message.id);
        }
    }
    println!(
        "fill-db: added {} conversations × {} messages to {} in {:.1} s",
        args.conversations,
        args.messages_per,
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
