//! Shows the last error: a headline from its kind, what to do about it in
//! plain words (specific to the kind: a bad key, no credit, a rate limit
//! with its wait, an overloaded model, a request or conversation too
//! large, no network, a timeout), the details, the request id to quote in
//! a bug report, and the action that fixes it (settings for key problems).

use dioxus::prelude::*;
use kestrel_shared::{ErrorKind, KestrelError};

use crate::state::ChatState;

/// What the person can do about `error`, in one or two sentences.
pub fn advice(error: &KestrelError) -> String {
    let wait = |secs: u64| match secs {
        0..=1 => "a second".to_owned(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    };
    match error.kind {
        ErrorKind::NoApiKey => {
            "Add an API key in Settings, or set ANTHROPIC_API_KEY before starting Kestrel.".into()
        }
        ErrorKind::InvalidApiKey => "The provider did not accept this API key. Check it in \
             Settings; it may have been mistyped, revoked or meant for another provider."
            .into(),
        ErrorKind::PermissionDenied => "This key may not use this model or feature. Pick \
             another model, or check the key's permissions with the provider."
            .into(),
        ErrorKind::Billing => "The account has no credit left. Add credit in the provider's \
             billing console, then send again."
            .into(),
        ErrorKind::RateLimited => match error.retry_after_secs {
            Some(secs) => format!(
                "Too many requests for now. Try again in {}; your message is kept.",
                wait(secs)
            ),
            None => "Too many requests for now. Wait a minute and try again; your message is \
                     kept."
                .into(),
        },
        ErrorKind::Overloaded => "The model is busy right now and Kestrel's retries did not \
             get through. Try again in a moment, or pick another model."
            .into(),
        ErrorKind::RequestTooLarge => "The message is over the provider's size limit. \
             Shorten it or remove attachments."
            .into(),
        ErrorKind::ContextTooLong => "This conversation no longer fits the model's context \
             window. Start a new conversation, or pick a model with a larger window."
            .into(),
        ErrorKind::InvalidRequest => "The provider refused the request as it was sent. The \
             details below say why."
            .into(),
        ErrorKind::NotFound => {
            "This model is not available to this key. Pick another model.".into()
        }
        ErrorKind::Network => "Kestrel cannot reach the provider. Check the internet \
             connection, a proxy or firewall, and the provider address."
            .into(),
        ErrorKind::Timeout => "The provider stopped answering. Try again; your message is \
             kept."
            .into(),
        ErrorKind::ProviderError => "The provider had a problem on its side. Try again in a \
             moment."
            .into(),
        ErrorKind::StreamInterrupted => "The reply stopped partway; what arrived is kept. \
             Send again to get a full answer."
            .into(),
        ErrorKind::Disconnected => "The Kestrel server cannot be reached. Check that it is \
             still running."
            .into(),
        ErrorKind::Storage => "Kestrel could not read or write its data. Check free disk \
             space and the data directory's permissions."
            .into(),
        ErrorKind::BadInput => "That was not accepted; nothing was saved.".into(),
        _ => "Something went wrong inside Kestrel. The details below help a bug report.".into(),
    }
}

#[component]
pub fn ErrorBanner() -> Element {
    let mut state = use_context::<ChatState>();
    let Some(error) = state.error.read().clone() else {
        return rsx! {};
    };
    let kind = serde_json::to_value(error.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let advice = advice(&error);
    rsx! {
        div { class: "error-banner", role: "alert", "data-kind": "{kind}",
            div { class: "body",
                strong { "{error.kind.headline()}" }
                div { class: "advice", "{advice}" }
                if !error.message.is_empty() {
                    div { class: "detail", "{error.message}" }
                }
                if let Some(id) = &error.request_id {
                    div { class: "request-id", "Request id: {id}" }
                }
                if error.kind.needs_settings() {
                    button { class: "link open-settings-from-error", onclick: move |_| state.show_settings.set(true), "Open settings" }
                }
            }
            button { class: "dismiss", "aria-label": "Dismiss", onclick: move |_| state.error.set(None), "×" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(non_snake_case)]
    fn Shown(error: KestrelError) -> Element {
        use_context_provider(move || {
            let mut state = ChatState::new();
            state.error.set(Some(error));
            state
        });
        rsx! { ErrorBanner {} }
    }

    #[test]
    fn the_banner_shows_headline_advice_details_and_request_id() {
        let error = KestrelError::new(ErrorKind::Billing, "Your credit balance is too low")
            .with_request_id(Some("req_011CX".into()));
        let mut dom = VirtualDom::new_with_props(Shown, error);
        dom.rebuild_in_place();
        let html = dioxus_ssr::render(&dom);
        for expected in [
            "data-kind=\"billing\"",
            "The account is out of credit",
            "Add credit in the provider",
            "Your credit balance is too low",
            "Request id: req_011CX",
        ] {
            assert!(html.contains(expected), "{expected} missing from {html}");
        }
        assert!(!html.contains("open-settings-from-error"));
    }

    #[test]
    fn every_provider_failure_has_its_own_advice() {
        let kinds = [
            ErrorKind::NoApiKey,
            ErrorKind::InvalidApiKey,
            ErrorKind::PermissionDenied,
            ErrorKind::Billing,
            ErrorKind::RateLimited,
            ErrorKind::Overloaded,
            ErrorKind::RequestTooLarge,
            ErrorKind::ContextTooLong,
            ErrorKind::InvalidRequest,
            ErrorKind::NotFound,
            ErrorKind::Network,
            ErrorKind::Timeout,
            ErrorKind::ProviderError,
            ErrorKind::StreamInterrupted,
            ErrorKind::Disconnected,
        ];
        let texts: std::collections::HashSet<String> = kinds
            .iter()
            .map(|&kind| advice(&KestrelError::new(kind, "")))
            .collect();
        assert_eq!(texts.len(), kinds.len(), "two kinds share advice");
    }

    #[test]
    fn rate_limits_say_how_long_to_wait() {
        let error = |secs| KestrelError::new(ErrorKind::RateLimited, "").with_retry_after(secs);
        assert!(advice(&error(1)).contains("in a second"));
        assert!(advice(&error(42)).contains("in 42 seconds"));
        assert!(advice(&error(600)).contains("in 10 minutes"));
        assert!(advice(&KestrelError::new(ErrorKind::RateLimited, "")).contains("Wait a minute"));
    }
}
