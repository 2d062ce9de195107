//! Security headers on every response, and the Content-Security-Policy of
//! HTML pages.
//!
//! Server-rendered pages carry inline scripts the framework writes (the
//! streaming bootstrap, the hydration data, the wasm loader), so each HTML
//! response gets a fresh nonce, added to those `<script` tags, and a CSP
//! that allows scripts only from this origin or with that nonce. Text the
//! page shows is HTML-escaped by the renderer, so only the framework's own
//! tags match `<script`. `'wasm-unsafe-eval'` lets the client compile its
//! wasm; there is no `'unsafe-eval'` and no `'unsafe-inline'` for scripts.
//! Styles allow `'unsafe-inline'`: the stylesheet is compiled into the page
//! and components set `style` attributes.

use super::http::{HeaderMap, HeaderName, HeaderValue, header};

/// The largest HTML page the nonce rewrite buffers.
pub const MAX_HTML_BYTES: usize = 16 * 1024 * 1024;

/// The CSP of an HTML page whose inline scripts carry `nonce`.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The CSP of everything that is not a page: nothing may run or load.
pub const RESOURCE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The login page has no script at all.
pub const LOGIN_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                             frame-ancestors 'none'; base-uri 'none'";

/// A fresh nonce: 128 random bits, hex. `None` when the OS has no
/// randomness to give (the page is then refused, not served unguarded).
pub fn new_nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Adds `nonce` to every `<script` opening tag in `html`.
pub fn add_nonce(html: &str, nonce: &str) -> String {
    let tagged = format!("<script nonce=\"{nonce}\"");
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(at) = rest.find("<script") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "<script".len()..];
        // `<scripts>` or `<script-foo>` are other tags.
        if after.starts_with(['>', ' ', '\t', '\n', '\r', '/']) {
            out.push_str(&tagged);
        } else {
            out.push_str("<script");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The headers every response carries. `csp` is set unless the response
/// already has one.
pub fn apply(headers: &mut HeaderMap, csp: &str, api: bool) {
    let mut set = |name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Not `no-referrer`: under it a browser sends `Origin: null` with same-origin
    // form posts, which the CSRF check must refuse.
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    if api {
        set(header::CACHE_CONTROL, "no-store");
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::from_str(csp)
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_script_tag_gets_the_nonce_and_nothing_else_changes() {
        let html = r#"<head><script>boot()</script><script type="module" src="/a.js"></script></head><body><p>&lt;script&gt; is text</p><scripts></scripts><script
>x</script></body>"#;
        assert_eq!(
            add_nonce(html, "n1"),
            r#"<head><script nonce="n1">boot()</script><script nonce="n1" type="module" src="/a.js"></script></head><body><p>&lt;script&gt; is text</p><scripts></scripts><script nonce="n1"
>x</script></body>"#
        );
    }

    #[test]
    fn nonces_differ_and_the_policy_names_them() {
        let (a, b) = (new_nonce().unwrap(), new_nonce().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let csp = page_csp(&a);
        assert!(csp.contains(&format!("'nonce-{a}'")));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
