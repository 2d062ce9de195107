//! Which `Host` a request may name and which `Origin` may send a request
//! that changes something.
//!
//! The `Host` check defeats DNS rebinding: a page on `evil.example` whose
//! name is re-pointed at 127.0.0.1 reaches the server with
//! `Host: evil.example` and is refused. The `Origin` check defeats CSRF: a
//! browser names the page that sent a POST, and only pages from this
//! server's own origin may. Requests with no `Origin` (curl, scripts) come
//! from no web page, so there is no page to forge them.

use std::net::{IpAddr, SocketAddr};

/// The hosts a server accepts.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    bound: SocketAddr,
    /// Extra names (without port), e.g. a reverse proxy's host name.
    extra: Vec<String>,
}

impl HostPolicy {
    pub fn new(bound: SocketAddr, extra: Vec<String>) -> Self {
        Self {
            bound,
            extra: extra.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `host` (a `Host` header value: name or IP, optional port)
    /// names this server. The port is not compared: a proxy in front (such
    /// as `dx serve`'s) forwards its own, and which page may *send* what is
    /// the `Origin` check's job.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let (name, _port) = split_host_port(&host);
        if name.is_empty() {
            return false;
        }
        if self.extra.iter().any(|extra| extra == name) {
            return true;
        }
        let ip = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        let bound_ip = self.bound.ip();
        if bound_ip.is_loopback() {
            return name == "localhost" || ip.is_some_and(|ip| ip.is_loopback());
        }
        if bound_ip.is_unspecified() {
            // Listening on every address: any of this machine's addresses,
            // written as an IP. Names need --allow-host.
            return ip.is_some();
        }
        ip == Some(bound_ip)
    }
}

/// Splits `name:port`, `[v6]:port`, or a bare name.
fn split_host_port(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (
                &host[..ip.len() + 2],
                tail.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (host, None),
    }
}

/// Whether a request that changes something may proceed: its `Origin`, if
/// any, must be `http(s)://<host>` for the host it was sent to (or one of
/// `trusted`, origins of a proxy in front), and its `Sec-Fetch-Site`, if
/// any, must not be cross-site.
pub fn origin_allowed(
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host: &str,
    trusted: &[String],
) -> bool {
    if let Some(site) = fetch_site
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match origin {
        None => true,
        Some(origin) => {
            let origin = origin.trim().to_ascii_lowercase();
            let host = host.trim().to_ascii_lowercase();
            origin == format!("http://{host}")
                || origin == format!("https://{host}")
                || trusted.iter().any(|t| t.eq_ignore_ascii_case(&origin))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> HostPolicy {
        HostPolicy::new("127.0.0.1:8080".parse().unwrap(), vec![])
    }

    #[test]
    fn loopback_accepts_its_own_names_only() {
        let policy = loopback();
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "127.0.0.1",
            "localhost:3000",
        ] {
            assert!(policy.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "evil.example",
            "localhost.evil.example:8080",
            "127.0.0.1.evil.example:8080",
            "192.168.1.5:8080",
            "",
        ] {
            assert!(!policy.allows(bad), "{bad}");
        }
    }

    #[test]
    fn other_addresses_accept_their_ip_and_named_hosts() {
        let policy = HostPolicy::new(
            "192.168.1.5:8080".parse().unwrap(),
            vec!["kestrel.lan".into()],
        );
        assert!(policy.allows("192.168.1.5:8080"));
        assert!(policy.allows("kestrel.lan"));
        assert!(policy.allows("Kestrel.LAN:443"));
        assert!(!policy.allows("10.0.0.1:8080"));
        assert!(!policy.allows("evil.example:8080"));

        let any = HostPolicy::new("0.0.0.0:8080".parse().unwrap(), vec![]);
        assert!(any.allows("10.0.0.7:8080"));
        assert!(!any.allows("evil.example:8080"));
    }

    #[test]
    fn only_same_origin_pages_may_post() {
        let host = "127.0.0.1:8080";
        let proxy = ["http://127.0.0.1:9000".to_owned()];
        assert!(origin_allowed(
            Some("http://127.0.0.1:9000"),
            None,
            host,
            &proxy
        ));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:9000"),
            None,
            host,
            &[]
        ));
        assert!(origin_allowed(
            Some("http://127.0.0.1:8080"),
            Some("same-origin"),
            host,
            &[]
        ));
        assert!(
            origin_allowed(None, None, host, &[]),
            "no page, nothing to forge"
        );
        assert!(!origin_allowed(
            Some("http://evil.example"),
            None,
            host,
            &[]
        ));
        assert!(!origin_allowed(Some("null"), None, host, &[]));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:8081"),
            None,
            host,
            &[]
        ));
        assert!(!origin_allowed(None, Some("cross-site"), host, &[]));
        assert!(!origin_allowed(None, Some("same-site"), host, &[]));
    }
}
