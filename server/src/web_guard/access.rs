//! The access token that guards a web server bound beyond loopback.
//!
//! A random 256-bit token is made at the first non-loopback start, shown
//! once, and only its SHA-256 is kept (`web-token.sha256` in the data dir,
//! mode 0600). A request proves it knows the token with
//! `Authorization: Bearer <token>` or the `kestrel_access` cookie the login
//! page sets (HttpOnly, SameSite=Strict). Comparison is constant-time. A
//! plain hash is enough: the token has 256 bits of entropy, so there is
//! nothing to brute-force.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::http;
use subtle::ConstantTimeEq;

/// The cookie the login page sets.
pub const COOKIE: &str = "kestrel_access";
/// The file holding the token's hash, in the data dir.
pub const TOKEN_FILE: &str = "web-token.sha256";

/// The hash of the access token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.trim().as_bytes()).into())
    }

    /// Whether `candidate` is the token, in time independent of where
    /// they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        bool::from(Self::of(candidate).0.ct_eq(&self.0))
    }

    fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

/// The token could not be made, read or saved.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} does not hold a token hash; delete it to make a new token")]
    Corrupt { path: String },
    #[error("cannot save {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no randomness for the token: {0}")]
    Random(String),
}

/// The hash in use, and the token itself when it was just made (to show
/// once).
#[derive(Debug)]
pub struct Access {
    pub hash: TokenHash,
    pub new_token: Option<String>,
}

fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKEN_FILE)
}

/// Loads the stored hash, or makes a token (also when `reset`) and stores
/// its hash. Blocking (file I/O).
pub fn load_or_create(data_dir: &Path, reset: bool) -> Result<Access, TokenError> {
    let path = token_path(data_dir);
    if !reset {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let hash = TokenHash::from_hex(&text).ok_or_else(|| TokenError::Corrupt {
                    path: path.display().to_string(),
                })?;
                return Ok(Access {
                    hash,
                    new_token: None,
                });
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(TokenError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    let token = new_token()?;
    let hash = TokenHash::of(&token);
    write_private(&path, hash.to_hex().as_bytes()).map_err(|source| TokenError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Access {
        hash,
        new_token: Some(token),
    })
}

/// 32 random bytes from the OS, as URL-safe hex.
fn new_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes a file only its owner can read, replacing any old one.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The token a request carries: `Authorization: Bearer`, else the cookie.
pub fn presented_token(headers: &http::HeaderMap) -> Option<&str> {
    if let Some(bearer) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim());
    }
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `token` field of a urlencoded login form.
pub fn form_token(body: &[u8]) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| value.replace('+', " "))
        .map(|value| percent_decode(&value))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The login page: one form and an inline stylesheet, no script.
pub fn login_page(failed: bool) -> String {
    let notice = if failed {
        r#"<p class="bad" role="alert">That token is not right.</p>"#
    } else {
        ""
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Kestrel: sign in</title>
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:15vh auto;padding:0 1rem}}input{{width:100%;font:inherit;padding:.5rem;box-sizing:border-box}}button{{margin-top:.75rem;font:inherit;padding:.4rem 1rem}}.bad{{color:#b00020}}</style>
</head><body>
<h1>Kestrel</h1>
<p>This Kestrel server needs its access token. It was printed once when the server first started on this address.</p>
{notice}
<form method="post" action="/login">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</body></html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_token_is_shown_once_and_only_its_hash_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), false).unwrap();
        let token = first.new_token.unwrap();
        assert_eq!(token.len(), 64, "256 bits as hex");
        let stored = std::fs::read_to_string(dir.path().join(TOKEN_FILE)).unwrap();
        assert!(!stored.contains(&token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let again = load_or_create(dir.path(), false).unwrap();
        assert_eq!(again.new_token, None, "shown once");
        assert!(again.hash.matches(&token));
        assert!(!again.hash.matches("not-the-token"));

        let reset = load_or_create(dir.path(), true).unwrap();
        assert!(!reset.hash.matches(&token), "a reset makes a new token");
    }

    #[test]
    fn the_token_comes_from_a_bearer_header_a_cookie_or_the_login_form() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=b; kestrel_access=abc123".parse().unwrap(),
        );
        assert_eq!(presented_token(&headers), Some("abc123"));
        headers.insert(http::header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(presented_token(&headers), Some("xyz"));
        assert_eq!(form_token(b"x=1&token=ab%2Fc+d").as_deref(), Some("ab/c d"));
        assert_eq!(form_token(b"x=1"), None);
    }
}
