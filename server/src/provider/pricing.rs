//! What tokens cost: a price table built in (`prices.json` next to this
//! file) and overridden, entry by entry, by `prices.json` in the data
//! directory. The override file is read again whenever it changes, so
//! prices can be corrected without a rebuild or a restart.
//!
//! Keys are model id prefixes and the longest match wins, so
//! `claude-sonnet-4` prices `claude-sonnet-4-5-20250929`. A model with no
//! price has no cost (shown as unknown), never a guessed one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use kestrel_shared::{Price, PriceList, price_for};
use serde::Deserialize;

const BUILT_IN: &str = include_str!("prices.json");

/// The file in the data directory that overrides the built-in prices.
pub const OVERRIDE_FILE: &str = "prices.json";

#[derive(Debug, Default, Deserialize)]
struct PriceFile {
    #[serde(default)]
    models: BTreeMap<String, Price>,
}

/// Prices by model id prefix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The prices compiled into Kestrel.
    pub fn built_in() -> Self {
        let file: PriceFile = serde_json::from_str(BUILT_IN).unwrap_or_default();
        Self {
            models: file.models,
        }
    }

    /// The built-in prices with `json`'s entries laid over them.
    pub fn with_overrides(json: &str) -> Result<Self, serde_json::Error> {
        let file: PriceFile = serde_json::from_str(json)?;
        let mut table = Self::built_in();
        table.models.extend(file.models);
        Ok(table)
    }

    /// The price of `model`: the entry with the longest prefix of its id.
    pub fn price(&self, model: &str) -> Option<Price> {
        price_for(&self.models, model)
    }

    /// Every entry.
    pub fn list(&self) -> PriceList {
        self.models.clone()
    }
}

/// The price table of a data directory, re-read when its override file
/// changes.
#[derive(Debug)]
pub struct Pricing {
    path: PathBuf,
    cache: Mutex<(Option<SystemTime>, PriceTable)>,
}

impl Pricing {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(OVERRIDE_FILE),
            cache: Mutex::new((None, PriceTable::built_in())),
        }
    }

    /// The price of `model` as the table stands now. Blocking (one `stat`,
    /// and a read when the file changed).
    pub fn price(&self, model: &str) -> Option<Price> {
        self.table().price(model)
    }

    /// The whole table as it stands now. Blocking, like [`Pricing::price`].
    pub fn table(&self) -> PriceTable {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.0 != modified {
            let table = match modified.and_then(|_| std::fs::read_to_string(&self.path).ok()) {
                Some(json) => PriceTable::with_overrides(&json).unwrap_or_else(|error| {
                    tracing::warn!(path = %self.path.display(), %error, "price file ignored");
                    PriceTable::built_in()
                }),
                None => PriceTable::built_in(),
            };
            *cache = (modified, table);
        }
        cache.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn longest_prefix_wins_and_unknown_models_have_no_price() {
        let table = PriceTable::built_in();
        assert_eq!(
            table.price("claude-sonnet-4-5-20250929").unwrap().input,
            3.0
        );
        assert_eq!(table.price("claude-opus-4-5").unwrap().output, 25.0);
        assert_eq!(
            table.price("claude-opus-4-1-20250805").unwrap().output,
            75.0
        );
        assert_eq!(table.price("gpt-4o-mini").unwrap().input, 0.15);
        assert_eq!(table.price("llama3.2"), None);
    }

    #[test]
    fn the_override_file_is_picked_up_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pricing = Pricing::new(dir.path());
        assert_eq!(pricing.price("my-local-model"), None);
        std::fs::write(
            dir.path().join(OVERRIDE_FILE),
            r#"{"models": {"my-local": {"input": 0.0, "output": 0.0, "cache_write": 0.0, "cache_read": 0.0},
                           "claude-sonnet-4": {"input": 2.0, "output": 10.0, "cache_write": 2.5, "cache_read": 0.2}}}"#,
        )
        .unwrap();
        assert_eq!(pricing.price("my-local-model"), Some(Price::default()));
        assert_eq!(pricing.price("claude-sonnet-4-5").unwrap().input, 2.0);
        assert_eq!(pricing.price("claude-haiku-4-5").unwrap().input, 1.0);
        std::fs::write(dir.path().join(OVERRIDE_FILE), "not json").unwrap();
        // Same-second writes may keep the mtime; force a visible change.
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(OVERRIDE_FILE))
            .unwrap();
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(pricing.price("claude-sonnet-4-5").unwrap().input, 3.0);
    }
}
