//! The backend's exports and imports (formats in [`crate::transfer`]).
//! Files are read and parsed on a blocking thread; the import itself is
//! one transaction on the store's writer.

use std::path::PathBuf;

use kestrel_shared::{ConversationId, ErrorKind, KestrelError};

use super::Backend;
use crate::transfer::{self, ImportReport, Scope, Source, TransferError};

/// What an export produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Markdown,
}

fn to_kestrel(error: TransferError) -> KestrelError {
    match error {
        TransferError::Store(e) => e.to_kestrel(),
        other => KestrelError::new(ErrorKind::BadInput, other.to_string()),
    }
}

impl Backend {
    /// One conversation, whole tree or active branch, as JSON or Markdown.
    pub async fn export_conversation(
        &self,
        id: ConversationId,
        format: ExportFormat,
        scope: Scope,
    ) -> Result<String, KestrelError> {
        let export = self
            .store
            .call(move |conn| transfer::export_conversation(conn, id, scope))
            .await
            .map_err(|e| e.to_kestrel())?;
        Ok(match format {
            ExportFormat::Markdown if scope == Scope::Tree => {
                transfer::markdown::render_tree(&export)
            }
            ExportFormat::Markdown => transfer::markdown::render(&export),
            ExportFormat::Json => {
                let archive = transfer::Archive::new(vec![export]);
                serde_json::to_string_pretty(&archive)
                    .map_err(|e| KestrelError::new(ErrorKind::Internal, e.to_string()))?
            }
        })
    }

    /// Writes one conversation's export (every branch, or the active one)
    /// to the user's Downloads folder (the data dir's `exports/` if there is
    /// none) and returns the path. The desktop app's "Export"; the browser
    /// downloads instead.
    pub async fn save_export(
        &self,
        id: ConversationId,
        format: ExportFormat,
        scope: Scope,
    ) -> Result<PathBuf, KestrelError> {
        let text = self.export_conversation(id, format, scope).await?;
        let extension = match format {
            ExportFormat::Json => "json",
            ExportFormat::Markdown => "md",
        };
        let branch = if scope == Scope::Branch {
            "-branch"
        } else {
            ""
        };
        self.save_to_downloads(format!("kestrel-{id}{branch}.{extension}"), text)
            .await
    }

    /// Every conversation as one JSON archive, written to the Downloads
    /// folder like [`Self::save_export`]; returns the path.
    pub async fn save_export_all(&self) -> Result<PathBuf, KestrelError> {
        let text = self.export_all().await?;
        self.save_to_downloads("kestrel-all-conversations.json".to_owned(), text)
            .await
    }

    /// Writes `text` as `name` in the user's Downloads folder (the data
    /// dir's `exports/` if there is none).
    async fn save_to_downloads(&self, name: String, text: String) -> Result<PathBuf, KestrelError> {
        let folder = directories::UserDirs::new()
            .and_then(|dirs| dirs.download_dir().map(PathBuf::from))
            .filter(|dir| dir.is_dir())
            .unwrap_or_else(|| self.config.data_dir.join("exports"));
        let path = folder.join(name);
        let written = path.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&folder)?;
            std::fs::write(&written, text)
        })
        .await
        .map_err(|e| KestrelError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|e| {
            KestrelError::new(
                ErrorKind::Storage,
                format!("Cannot write {}: {e}", path.display()),
            )
        })?;
        Ok(path)
    }

    /// Every conversation, whole trees, as one JSON archive.
    pub async fn export_all(&self) -> Result<String, KestrelError> {
        let archive = self
            .store
            .call(|conn| transfer::export_all(conn))
            .await
            .map_err(|e| e.to_kestrel())?;
        serde_json::to_string_pretty(&archive)
            .map_err(|e| KestrelError::new(ErrorKind::Internal, e.to_string()))
    }

    /// Imports a file: ours, Claude.ai's or ChatGPT's (`source`, or
    /// guessed). All of it, or nothing with a clear reason.
    pub async fn import_file(
        &self,
        path: PathBuf,
        source: Option<Source>,
    ) -> Result<ImportReport, KestrelError> {
        let bytes = tokio::task::spawn_blocking(move || transfer::read_capped(&path))
            .await
            .map_err(|e| KestrelError::new(ErrorKind::Internal, e.to_string()))?
            .map_err(to_kestrel)?;
        self.import_bytes(bytes, source).await
    }

    /// Imports a file's bytes (the app's "Import", which reads the file in
    /// the browser or webview): the same formats, limits and checks as
    /// [`Self::import_file`].
    pub async fn import_bytes(
        &self,
        bytes: Vec<u8>,
        source: Option<Source>,
    ) -> Result<ImportReport, KestrelError> {
        let size = bytes.len() as u64;
        if size > transfer::MAX_IMPORT_BYTES {
            return Err(to_kestrel(TransferError::TooLarge { size }));
        }
        let model = self.config.default_model.clone();
        let archive = tokio::task::spawn_blocking(move || {
            let source = source.unwrap_or_else(|| transfer::detect(&bytes));
            transfer::to_archive(source, &bytes, &model)
        })
        .await
        .map_err(|e| KestrelError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(to_kestrel)?;
        let report = self
            .store
            .call(move |conn| {
                transfer::import_archive(conn, archive).map_err(|e| match e {
                    TransferError::Store(e) => e,
                    other => crate::store::StoreError::Refused(other.to_string()),
                })
            })
            .await
            .map_err(|e| e.to_kestrel())?;
        tracing::info!(?report, "import finished");
        Ok(report)
    }
}
