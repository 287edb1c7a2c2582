//! Where the server may post: push endpoints are URLs a client chose, so
//! without a check the server would post for anyone to its own loopback, the
//! cloud's metadata address or the private network behind it. An endpoint
//! must be `https` and its host resolve only to public addresses, when it is
//! subscribed and again, through [`PublicOnly`], at every connection the
//! pusher makes, so a name that later resolves inward (DNS rebinding)
//! reaches nothing. `push.allow_private_endpoints` lifts both rules (tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// The longest endpoint accepted; real ones are a few hundred bytes.
pub const MAX_ENDPOINT_BYTES: usize = 2048;

/// How long resolving an endpoint's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an endpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an absolute http(s) URL with a host, or with credentials in it.
    Malformed(&'static str),
    /// Not `https`.
    Insecure,
    /// The host resolves (or is) an address that is not public.
    NotPublic,
    /// The host does not resolve.
    Unresolvable,
}

/// Whether `ip` is an address on the public internet: not loopback,
/// private, shared (CGNAT), link-local, unique-local, multicast,
/// unspecified, reserved or documentation space, nor one of those wrapped
/// in an IPv6 form (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network", unspecified
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    match s {
        // Unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d.
        [0, 0, 0, 0, 0, 0, _, _] => false,
        // NAT64: the IPv4 address in the last 32 bits.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => is_public_v4(embedded_v4(hi, lo)),
        // Local-use NAT64.
        [0x64, 0xff9b, 1, ..] => false,
        // 6to4: the IPv4 address in bits 16..48.
        [0x2002, hi, lo, ..] => is_public_v4(embedded_v4(hi, lo)),
        // Teredo tunnels to an address this check cannot see.
        [0x2001, 0, ..] => false,
        // Documentation.
        [0x2001, 0xdb8, ..] => false,
        // Discard-only.
        [0x100, 0, 0, 0, ..] => false,
        // Unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10, multicast ff00::/8.
        [first, ..] if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 => {
            false
        }
        [first, ..] if first & 0xff00 == 0xff00 => false,
        // Only global unicast (2000::/3) is routed on the internet.
        [first, ..] => first & 0xe000 == 0x2000,
    }
}

/// Parses and checks an endpoint as a subscription gives it.
pub async fn check_endpoint(endpoint: &str, allow_private: bool) -> Result<Url, Refusal> {
    if endpoint.len() > MAX_ENDPOINT_BYTES {
        return Err(Refusal::Malformed("is too long"));
    }
    let url = Url::parse(endpoint).map_err(|_| Refusal::Malformed("is not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Malformed("must not carry credentials"));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(Refusal::Insecure),
        _ => return Err(Refusal::Malformed("must be an https URL")),
    }
    let host = url.host().ok_or(Refusal::Malformed("has no host"))?;
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => resolve(name, port).await.map_err(|_| Refusal::Unresolvable)?,
    };
    if addresses.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    if addresses.iter().all(|ip| is_public(*ip)) {
        Ok(url)
    } else {
        Err(Refusal::NotPublic)
    }
}

/// Whether the pusher may post to `url` now, as far as its host is an address
/// literal (names are checked by [`PublicOnly`] as they are connected to).
pub fn literal_allowed(url: &Url, allow_private: bool) -> bool {
    allow_private
        || match url.host() {
            Some(url::Host::Ipv4(ip)) => is_public_v4(ip),
            Some(url::Host::Ipv6(ip)) => is_public_v6(ip),
            Some(url::Host::Domain(_)) => true,
            None => false,
        }
}

async fn resolve(name: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "resolving timed out"))??;
    Ok(found.map(|a| a.ip()).collect())
}

/// The pusher's resolver: a name with any address that is not public
/// resolves to nothing, so no connection is made to it.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses = resolve(name.as_str(), 0).await?;
            if !allow_private && !addresses.iter().all(|ip| is_public(*ip)) {
                return Err(format!("{} resolves to an address that is not public", name.as_str()).into());
            }
            let addresses: Box<dyn Iterator<Item = SocketAddr> + Send> =
                Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn inward_addresses_are_not_public() {
        for inward in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001::1",
            "2001:db8::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(!public(inward), "{inward} must not count as public");
        }
    }

    #[test]
    fn internet_addresses_are_public() {
        for outward in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "142.250.74.78",
            "2a00:1450:4001:80b::200a",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(public(outward), "{outward} is public");
        }
    }

    #[tokio::test]
    async fn endpoints_must_be_https_to_public_hosts() {
        assert_eq!(check_endpoint("http://push.example/x", false).await, Err(Refusal::Insecure));
        assert_eq!(check_endpoint("https://127.0.0.1/x", false).await, Err(Refusal::NotPublic));
        assert_eq!(check_endpoint("https://[::1]:8443/x", false).await, Err(Refusal::NotPublic));
        assert_eq!(check_endpoint("https://[::ffff:7f00:1]/x", false).await, Err(Refusal::NotPublic));
        assert_eq!(check_endpoint("https://localhost/x", false).await, Err(Refusal::NotPublic));
        assert!(matches!(check_endpoint("ftp://push.example/x", false).await, Err(Refusal::Malformed(_))));
        assert!(matches!(check_endpoint("https://u:p@8.8.8.8/x", false).await, Err(Refusal::Malformed(_))));
        assert!(matches!(check_endpoint("push.example/x", false).await, Err(Refusal::Malformed(_))));
        assert!(check_endpoint("https://8.8.8.8/push/abc", false).await.is_ok());
        assert!(check_endpoint("http://127.0.0.1:9/x", true).await.is_ok());
    }

    #[test]
    fn literal_hosts_are_checked_at_send_time() {
        let inward = Url::parse("https://10.0.0.1/x").unwrap();
        assert!(!literal_allowed(&inward, false));
        assert!(literal_allowed(&inward, true));
        assert!(literal_allowed(&Url::parse("https://push.example/x").unwrap(), false));
    }
}
