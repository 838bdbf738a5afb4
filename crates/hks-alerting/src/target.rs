//! Where webhooks may be sent: the installation's [`TargetPolicy`].
//!
//! A webhook URL is chosen by a tenant, and every tenant may be hostile: a
//! URL naming `127.0.0.1:8080`, `169.254.169.254` or an address of HKS's own
//! network would turn deliveries, and test deliveries that report how they
//! went, into requests (and a port scanner) from inside the installation.
//! So only public addresses are sent to, unless the installation allows more
//! ranges. The check is made twice: when a URL is saved ([`check_webhook_url`]:
//! address literals and `localhost`, without resolving names), and when it is
//! sent, where it counts: the host is resolved by HKS itself, the addresses
//! the policy denies are dropped, and the request connects to one of the
//! remaining ones, the very addresses checked (no second lookup that DNS
//! rebinding could answer differently).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use futures::future::BoxFuture;
pub use ipnet::IpNet;
use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// What a tenant is told when a webhook is not sent because of where it
/// points. The same whatever the reason (an address literal, a name that
/// resolves only to denied addresses, a name that does not resolve at all),
/// so that test deliveries tell nothing about HKS's network or its DNS.
pub const DENIED: &str = "the webhook's host does not resolve to any address this installation sends to (loopback, private and other non-public addresses are refused)";

/// IPv4 ranges that are not public (IANA's special-purpose registry,
/// plus multicast and the reserved 240/4): never sent to unless allowed.
const DENIED_V4: &[Ipv4Net] = &[
    v4(0, 0, 0, 0, 8),       // "this network", 0.0.0.0 included
    v4(10, 0, 0, 0, 8),      // private
    v4(100, 64, 0, 0, 10),   // shared address space (carrier-grade NAT)
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link-local (cloud metadata services)
    v4(172, 16, 0, 0, 12),   // private
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments
    v4(192, 0, 2, 0, 24),    // documentation (TEST-NET-1)
    v4(192, 88, 99, 0, 24),  // 6to4 relay anycast (deprecated)
    v4(192, 168, 0, 0, 16),  // private
    v4(198, 18, 0, 0, 15),   // benchmarking
    v4(198, 51, 100, 0, 24), // documentation (TEST-NET-2)
    v4(203, 0, 113, 0, 24),  // documentation (TEST-NET-3)
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved, 255.255.255.255 (broadcast) included
];

/// Global unicast IPv6: everything outside it (loopback, unspecified,
/// link-local, unique-local, multicast, ...) is not public.
const GLOBAL_V6: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Ranges inside [`GLOBAL_V6`] that are not public either.
const DENIED_V6: &[Ipv6Net] = &[
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo included
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
];

/// NAT64's well-known prefix: the last 32 bits are an IPv4 address.
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
/// 6to4: bits 16 to 48 are an IPv4 address.
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    )
}

/// Whether `ip` is a public address: not loopback, private, shared (CGNAT),
/// link-local, unique-local, multicast, unspecified, broadcast, reserved,
/// documentation or benchmarking. An IPv4 address inside IPv6 (mapped,
/// NAT64, 6to4) is judged as that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(ip) => !DENIED_V4.iter().any(|n| n.contains(&ip)),
        IpAddr::V6(ip) => match embedded_v4(ip) {
            Some(inner) => is_public(IpAddr::V4(inner)),
            None => GLOBAL_V6.contains(&ip) && !DENIED_V6.iter().any(|n| n.contains(&ip)),
        },
    }
}

/// The IPv4 address a NAT64 or 6to4 address stands for.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    if NAT64.contains(&ip) {
        Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    } else if SIX_TO_FOUR.contains(&ip) {
        Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

/// Looks up the addresses of a host name. [`SystemDns`] asks the operating
/// system; tests give a fake one, to show what happens when a name resolves
/// to an address that is not public.
pub trait Dns: fmt::Debug + Send + Sync {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemDns;

impl Dns for SystemDns {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Where webhooks may be sent: public addresses, and the ranges the
/// installation allows besides (`hks serve --webhook-allow-cidr`; tests
/// allow 127.0.0.0/8 for their local receivers). Also holds the resolver
/// that send-time checks use. Cheap to clone.
#[derive(Clone)]
pub struct TargetPolicy {
    allow: Arc<[IpNet]>,
    dns: Arc<dyn Dns>,
}

impl Default for TargetPolicy {
    /// Public addresses only, names resolved by the operating system.
    fn default() -> Self {
        Self {
            allow: Arc::new([]),
            dns: Arc::new(SystemDns),
        }
    }
}

impl fmt::Debug for TargetPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetPolicy")
            .field("allow", &self.allow)
            .field("dns", &self.dns)
            .finish()
    }
}

/// Why sending to a host was refused before any connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    /// Every address of the host is denied by the policy.
    #[error("every address of the webhook's host is denied by the target policy")]
    Denied,
    #[error("the webhook's host could not be resolved")]
    Lookup(#[source] io::Error),
}

impl TargetPolicy {
    /// Public addresses and, besides, those in `ranges`.
    pub fn allowing(ranges: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            allow: ranges.into_iter().map(|n| n.trunc()).collect(),
            ..Self::default()
        }
    }

    /// The same policy, with host names looked up by `dns`.
    pub fn with_dns(mut self, dns: Arc<dyn Dns>) -> Self {
        self.dns = dns;
        self
    }

    /// The ranges allowed besides public addresses.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allow
    }

    /// Whether a webhook may be sent to `ip`: it is public, or in an
    /// allowed range. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is
    /// judged as its IPv4 address.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow.iter().any(|n| n.contains(&ip)) || is_public(ip)
    }

    /// The addresses of `host` a webhook may be sent to: all it resolves
    /// to, minus those denied. Fails when none are left.
    pub(crate) async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, TargetError> {
        let found = self.dns.lookup(host).await.map_err(TargetError::Lookup)?;
        let allowed: Vec<IpAddr> = found.into_iter().filter(|ip| self.permits(*ip)).collect();
        if allowed.is_empty() {
            return Err(TargetError::Denied);
        }
        Ok(allowed)
    }

    /// Whether a URL's host, as written, is one the policy refuses: an
    /// address literal outside the policy, or `localhost` (or a name under
    /// it) unless loopback is allowed. Names are not resolved here.
    pub(crate) fn refuses_host(&self, host: Host<&str>) -> bool {
        match host {
            Host::Ipv4(ip) => !self.permits(ip.into()),
            Host::Ipv6(ip) => !self.permits(ip.into()),
            Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                (name == "localhost" || name.ends_with(".localhost"))
                    && !self.permits(Ipv4Addr::LOCALHOST.into())
            }
        }
    }
}

/// Why a URL cannot be a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadWebhookUrl {
    #[error("must be at most 2048 characters")]
    TooLong,
    #[error("must be an absolute http or https URL")]
    NotAbsolute,
    #[error("must be an http or https URL")]
    Scheme,
    #[error("must name a host")]
    NoHost,
    #[error("must not contain a user name or password: they would be shown in logs and errors")]
    Credentials,
    #[error(
        "must not point at a loopback, private, link-local or other non-public address, nor at localhost"
    )]
    NotPublic,
}

impl BadWebhookUrl {
    /// How to fix it, when there is more to say than the message.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            Self::NotPublic => Some(
                "use the receiver's public host name or address; an installation can allow \
                 address ranges for webhooks (hks serve --webhook-allow-cidr)",
            ),
            _ => None,
        }
    }
}

/// Why `url` cannot be a webhook under `policy`, if it cannot: it must be
/// absolute http(s) with a host, carry no user name or password (they would
/// end up in logs and error messages), and not name an address (or
/// `localhost`) the policy refuses. Host names are not resolved: that
/// check is made on every send.
pub fn check_webhook_url(url: &str, policy: &TargetPolicy) -> Result<(), BadWebhookUrl> {
    if url.len() > 2048 {
        return Err(BadWebhookUrl::TooLong);
    }
    let parsed = Url::parse(url).map_err(|_| BadWebhookUrl::NotAbsolute)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(BadWebhookUrl::Scheme);
    }
    let Some(host) = parsed.host().filter(|h| !matches!(h, Host::Domain(""))) else {
        return Err(BadWebhookUrl::NoHost);
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(BadWebhookUrl::Credentials);
    }
    if policy.refuses_host(host) {
        return Err(BadWebhookUrl::NotPublic);
    }
    Ok(())
}

/// A webhook URL as it may be shown: its scheme and host (with a port if
/// it names one) and `/…` for the rest, for example
/// `https://hooks.example.com/…`. A URL's path and query are often a
/// credential themselves, so they are never shown.
pub fn redacted_url(url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return "…".to_owned();
    };
    match (parsed.host_str(), parsed.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}/…", parsed.scheme()),
        (Some(host), None) => format!("{}://{host}/…", parsed.scheme()),
        (None, _) => "…".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_the_scheme_and_host_only() {
        assert_eq!(
            redacted_url("https://hooks.example.com/services/T0K3N?sig=x#y"),
            "https://hooks.example.com/…"
        );
        assert_eq!(
            redacted_url("http://[::1]:8080/hook"),
            "http://[::1]:8080/…"
        );
        assert_eq!(
            redacted_url("https://user:pw@example.com/"),
            "https://example.com/…"
        );
        assert_eq!(redacted_url("not a url"), "…");
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_table() {
        let denied = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.10",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ];
        for a in denied {
            assert!(!is_public(ip(a)), "{a} must be denied");
            assert!(
                !TargetPolicy::default().permits(ip(a)),
                "{a} must be denied"
            );
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.3.1",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.254",
        ];
        for a in public {
            assert!(TargetPolicy::default().permits(ip(a)), "{a} is public");
        }
    }

    #[test]
    fn ipv6_table() {
        let denied = [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "ff0e::1",
            "fec0::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "3fff::1",
            "64:ff9b:1::1",
            "::127.0.0.1",
            "::ffff:0:127.0.0.1",
        ];
        for a in denied {
            assert!(
                !TargetPolicy::default().permits(ip(a)),
                "{a} must be denied"
            );
        }
        for a in [
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "2001:4860::1",
        ] {
            assert!(TargetPolicy::default().permits(ip(a)), "{a} is public");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        let p = TargetPolicy::default();
        for a in [
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:c0a8:0101::1",
        ] {
            assert!(!p.permits(ip(a)), "{a} must be denied");
        }
        for a in ["::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:0808:0808::1"] {
            assert!(p.permits(ip(a)), "{a} stands for a public address");
        }
    }

    #[test]
    fn allowed_ranges_override() {
        let p = TargetPolicy::allowing([
            "127.0.0.0/8".parse().unwrap(),
            "10.1.2.3/16".parse().unwrap(),
            "fd00::/8".parse().unwrap(),
        ]);
        assert_eq!(
            p.allowed(),
            [
                "127.0.0.0/8".parse::<IpNet>().unwrap(),
                "10.1.0.0/16".parse().unwrap(),
                "fd00::/8".parse().unwrap()
            ]
        );
        for a in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "10.1.200.1",
            "fd00::5",
            "8.8.8.8",
        ] {
            assert!(p.permits(ip(a)), "{a} is allowed");
        }
        for a in [
            "::1",
            "10.2.0.1",
            "169.254.169.254",
            "fc00::1",
            "192.168.0.1",
        ] {
            assert!(!p.permits(ip(a)), "{a} stays denied");
        }
    }

    #[test]
    fn webhook_urls() {
        let p = TargetPolicy::default();
        for good in [
            "https://hooks.example.com/a?b=c",
            "http://8.8.8.8:8080/hook",
            "http://[2606:4700:4700::1111]/",
            // Resolved when sent, not now.
            "https://internal.example/",
        ] {
            assert_eq!(check_webhook_url(good, &p), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("ftp://example.com/", BadWebhookUrl::Scheme),
            ("mailto:a@example.com", BadWebhookUrl::Scheme),
            ("example.com/hook", BadWebhookUrl::NotAbsolute),
            ("", BadWebhookUrl::NotAbsolute),
            ("http://", BadWebhookUrl::NotAbsolute),
            ("https://user:pass@example.com/", BadWebhookUrl::Credentials),
            ("https://token@example.com/", BadWebhookUrl::Credentials),
            ("http://127.0.0.1:8080/healthz", BadWebhookUrl::NotPublic),
            (
                "http://169.254.169.254/latest/meta-data/",
                BadWebhookUrl::NotPublic,
            ),
            ("http://[::1]/", BadWebhookUrl::NotPublic),
            ("http://[::ffff:127.0.0.1]/", BadWebhookUrl::NotPublic),
            ("http://10.0.0.1/", BadWebhookUrl::NotPublic),
            ("http://localhost/", BadWebhookUrl::NotPublic),
            ("http://LOCALHOST./", BadWebhookUrl::NotPublic),
            ("http://api.localhost:8080/", BadWebhookUrl::NotPublic),
            ("http://0/", BadWebhookUrl::NotPublic),
            ("http://2130706433/", BadWebhookUrl::NotPublic),
            ("http://0x7f.1/", BadWebhookUrl::NotPublic),
            ("http://[fd00::1]/", BadWebhookUrl::NotPublic),
        ] {
            assert_eq!(check_webhook_url(bad, &p), Err(why), "{bad}");
        }
        assert_eq!(
            check_webhook_url(&format!("https://example.com/{}", "a".repeat(2048)), &p),
            Err(BadWebhookUrl::TooLong)
        );
        let loopback = TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
        for now_good in [
            "http://127.0.0.1:8080/hook",
            "http://localhost:9/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert_eq!(check_webhook_url(now_good, &loopback), Ok(()), "{now_good}");
        }
        assert_eq!(
            check_webhook_url("http://[::1]/", &loopback),
            Err(BadWebhookUrl::NotPublic)
        );
    }

    #[derive(Debug)]
    struct Fixed(Vec<IpAddr>);

    impl Dns for Fixed {
        fn lookup<'a>(&'a self, _: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
            Box::pin(async move { Ok(self.0.clone()) })
        }
    }

    #[tokio::test]
    async fn resolution_drops_denied_addresses() {
        let dns = Arc::new(Fixed(vec![ip("10.0.0.1"), ip("8.8.8.8"), ip("::1")]));
        let p = TargetPolicy::default().with_dns(dns);
        assert_eq!(
            p.resolve("hooks.example.com").await.unwrap(),
            [ip("8.8.8.8")]
        );
        let p = p.with_dns(Arc::new(Fixed(vec![ip("127.0.0.1"), ip("::1")])));
        assert!(matches!(
            p.resolve("hooks.example.com").await,
            Err(TargetError::Denied)
        ));
        let p = p.with_dns(Arc::new(Fixed(vec![])));
        assert!(matches!(
            p.resolve("hooks.example.com").await,
            Err(TargetError::Denied)
        ));
    }
}
