//! [`Backend`]: the one object that owns the store, the keys, the provider
//! client and the running turns. The server functions ([`crate::api`]), the
//! web server and the desktop app all reach it through [`Backend::global`],
//! installed once at start-up; tests build their own with [`Backend::open`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use kestrel_shared::{
    Conversation, ConversationId, ConversationView, ErrorKind, KestrelError,
    MAX_SYSTEM_PROMPT_BYTES, MessageId, SearchQuery, SearchResults, Settings, Theme, TurnId,
};
use tokio_util::sync::CancellationToken;

mod models;
mod providers;

pub use providers::Providers;

use crate::anthropic::AnthropicClient;
use crate::config::Config;
use crate::provider::pricing::Pricing;
use crate::secrets::KeyStore;
use crate::store::{Store, StoreError, drafts, queries, recovery, search};

mod keys;
mod manage;
mod transfer;

pub use transfer::ExportFormat;

static GLOBAL: OnceLock<Arc<Backend>> = OnceLock::new();

/// Why the backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The backend.
#[derive(Debug)]
pub struct Backend {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) keys: KeyStore,
    pub(crate) client: AnthropicClient,
    pub(crate) turns: Mutex<HashMap<TurnId, CancellationToken>>,
    /// A damaged database moved aside at start-up, told to the user.
    pub(crate) recovery: Option<recovery::Recovery>,
    /// The provider's model list, once fetched.
    pub(crate) models: Mutex<Option<Vec<kestrel_shared::ModelInfo>>>,
    pub(crate) pricing: Arc<Pricing>,
    pub(crate) providers: Providers,
    /// The OpenAI-compatible endpoint requests go to now: the one saved in
    /// the settings, else `OPENAI_BASE_URL`, else OpenAI's.
    pub(crate) openai_base_url: RwLock<String>,
}

impl Backend {
    /// Opens the data directory and database, and reads the key from the
    /// environment. Blocking: call it before the UI starts, or from a
    /// blocking thread.
    pub fn open(config: Config, keys: KeyStore) -> Result<Arc<Self>, StartError> {
        let http = crate::provider::http::client(config.connections)?;
        let client = AnthropicClient::with_http(http, &config.base_url);
        Self::open_with_client(config, keys, client)
    }

    /// [`Backend::open`] with the Anthropic client set up by the caller
    /// (tests set its retry policy and clock).
    pub fn open_with_client(
        config: Config,
        keys: KeyStore,
        client: AnthropicClient,
    ) -> Result<Arc<Self>, StartError> {
        Self::open_with_providers(config, keys, Providers::from_env(client))
    }

    /// [`Backend::open`] with every provider client set up by the caller.
    pub fn open_with_providers(
        config: Config,
        keys: KeyStore,
        providers: Providers,
    ) -> Result<Arc<Self>, StartError> {
        let client = providers.anthropic.clone();
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let (mut conn, recovery) = recovery::open_or_recover(&config.database_path())?;
        let interrupted = queries::mark_interrupted(&mut conn)?;
        let purged = crate::store::conversations::purge_deleted(&mut conn)?;
        if purged > 0 {
            tracing::info!(purged, "conversations deleted last session removed");
        }
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "replies cut off by the last exit are marked interrupted"
            );
        }
        let openai_base_url = keys::saved_openai_base_url(&conn)?
            .unwrap_or_else(|| providers.openai.base_url().to_owned());
        let store = Store::from_connection(conn);
        let config_data_dir = config.data_dir.clone();
        tracing::info!(data_dir = %config.data_dir.display(), base_url = %config.base_url, "backend ready");
        Ok(Arc::new(Self {
            config,
            store,
            keys,
            client,
            turns: Mutex::new(HashMap::new()),
            recovery,
            models: Mutex::new(None),
            pricing: Arc::new(Pricing::new(&config_data_dir)),
            providers,
            openai_base_url: RwLock::new(openai_base_url),
        }))
    }

    /// Makes `backend` the one the server functions use. The first call
    /// wins; later calls return `false`.
    pub fn install(backend: Arc<Self>) -> bool {
        GLOBAL.set(backend).is_ok()
    }

    /// The installed backend.
    pub fn global() -> Result<Arc<Self>, KestrelError> {
        GLOBAL
            .get()
            .cloned()
            .ok_or_else(|| KestrelError::new(ErrorKind::Internal, "the backend was not started"))
    }

    pub async fn list_conversations(&self) -> Result<Vec<Conversation>, KestrelError> {
        self.store
            .call(|conn| queries::list_conversations(conn))
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn create_conversation(&self) -> Result<Conversation, KestrelError> {
        let model = self.config.default_model.clone();
        self.store
            .call(move |conn| queries::create_conversation(conn, &model, ""))
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// A conversation and its active branch.
    pub async fn load_conversation(
        &self,
        id: ConversationId,
    ) -> Result<ConversationView, KestrelError> {
        self.store
            .call(move |conn| {
                let conversation = queries::get_conversation(conn, id)?;
                crate::store::tree::view(conn, conversation)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// Full-text search over every message, or over titles.
    pub async fn search(&self, query: SearchQuery) -> Result<SearchResults, KestrelError> {
        self.store
            .call(move |conn| search::search(conn, &query))
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// Opens the conversation holding `message` with that message's branch
    /// active (a search result was chosen).
    pub async fn reveal_message(
        &self,
        message: MessageId,
    ) -> Result<ConversationView, KestrelError> {
        self.store
            .call(move |conn| {
                let conversation = search::reveal_message(conn, message)?;
                crate::store::tree::view(conn, conversation)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn set_system_prompt(
        &self,
        id: ConversationId,
        prompt: String,
    ) -> Result<Conversation, KestrelError> {
        if prompt.len() > MAX_SYSTEM_PROMPT_BYTES {
            return Err(KestrelError::new(
                ErrorKind::BadInput,
                format!(
                    "The system prompt is limited to {} KiB.",
                    MAX_SYSTEM_PROMPT_BYTES / 1024
                ),
            ));
        }
        self.store
            .call(move |conn| queries::update_conversation(conn, id, None, Some(&prompt)))
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn settings(&self) -> Result<Settings, KestrelError> {
        self.store
            .call(|conn| queries::load_settings(conn))
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn set_theme(&self, theme: Theme) -> Result<Settings, KestrelError> {
        self.store
            .call(move |conn| {
                queries::save_theme(conn, theme)?;
                queries::load_settings(conn)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// Keeps the composer's unsent text for `conversation` (`None`: a
    /// conversation not yet saved). Text too long to send is not kept.
    pub async fn save_draft(
        &self,
        conversation: Option<ConversationId>,
        text: String,
    ) -> Result<(), KestrelError> {
        if text.len() > kestrel_shared::MAX_USER_MESSAGE_BYTES {
            return Err(KestrelError::new(
                ErrorKind::BadInput,
                "The draft is longer than a message can be, so it was not saved.",
            ));
        }
        self.store
            .call(move |conn| drafts::save(conn, conversation, &text))
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// The unsent text of `conversation`, or empty text.
    pub async fn load_draft(
        &self,
        conversation: Option<ConversationId>,
    ) -> Result<String, KestrelError> {
        self.store
            .call(move |conn| drafts::load(conn, conversation))
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// What the user must be told about this start: a damaged database
    /// kept aside and replaced by a fresh one.
    pub fn notices(&self) -> Vec<String> {
        self.recovery
            .iter()
            .map(|r| {
                format!(
                    "Your conversation database could not be read ({}). It was kept, unchanged, at \
                     {}, and Kestrel started with a fresh one.",
                    r.reason,
                    r.kept_at.display()
                )
            })
            .collect()
    }

    /// Stops a running turn. Returns whether it was running.
    pub fn cancel_turn(&self, turn: TurnId) -> bool {
        let turns = self
            .turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match turns.get(&turn) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}
