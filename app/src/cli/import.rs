//! `kestrel import FILE`: Kestrel's JSON archive, a Claude.ai export or a
//! ChatGPT export (`conversations.json`), all of it or nothing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kestrel_server::Backend;
use kestrel_server::transfer::Source;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum From {
    /// Guess from the file's shape.
    Auto,
    Kestrel,
    Claude,
    Chatgpt,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    /// Which program wrote the file.
    #[arg(long, value_enum, default_value = "auto")]
    from: From,
}

pub fn import(backend: Arc<Backend>, args: ImportArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let source = match args.from {
        From::Auto => None,
        From::Kestrel => Some(Source::Kestrel),
        From::Claude => Some(Source::Claude),
        From::Chatgpt => Some(Source::ChatGpt),
    };
    match runtime.block_on(backend.import_file(args.file, source)) {
        Ok(report) => {
            println!("{}", report.summary());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("kestrel: nothing was imported: {}", error.message);
            ExitCode::FAILURE
        }
    }
}
