//! `kestrel export`: one conversation (whole tree or active branch) as
//! JSON or Markdown, or every conversation as one JSON archive, to a file
//! or standard output.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kestrel_server::transfer::Scope;
use kestrel_server::{Backend, ExportFormat};
use kestrel_shared::ConversationId;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The conversation to export (its id); without it, everything.
    #[arg(long, value_name = "ID")]
    conversation: Option<ConversationId>,
    /// JSON (re-importable, lossless) or Markdown (for reading).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Only the active branch, not every branch of the tree.
    #[arg(long)]
    branch: bool,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn export(backend: Arc<Backend>, args: ExportArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let text = runtime.block_on(async move {
        match args.conversation {
            Some(id) => {
                let format = match args.format {
                    Format::Json => ExportFormat::Json,
                    Format::Markdown => ExportFormat::Markdown,
                };
                let scope = if args.branch {
                    Scope::Branch
                } else {
                    Scope::Tree
                };
                backend.export_conversation(id, format, scope).await
            }
            None if matches!(args.format, Format::Markdown) => {
                Err(kestrel_shared::KestrelError::new(
                    kestrel_shared::ErrorKind::BadInput,
                    "Markdown export is per conversation: pass --conversation ID.",
                ))
            }
            None => backend.export_all().await,
        }
    });
    let text = match text {
        Ok(text) => text,
        Err(error) => {
            eprintln!("kestrel: export failed: {}", error.message);
            return ExitCode::FAILURE;
        }
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes()),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kestrel: cannot write the export: {error}");
            ExitCode::FAILURE
        }
    }
}
