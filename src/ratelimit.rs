//! Rate limits: in-memory keyed limiters (`governor`, GCRA), one per kind of
//! request. They are per instance: behind a load balancer with N instances a
//! client can get up to N times a limit, which the defaults allow for.
//!
//! The client address is the socket peer, unless the peer is a configured
//! trusted proxy (`server.trusted_proxies`); then the rightmost address of
//! `X-Forwarded-For` (or `Forwarded: for=`) that is not itself a trusted proxy.
//! A header from anyone else is ignored, so rotating it changes nothing.

use std::future::{ready, Ready};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::auth::Caller;
use crate::config::{RateLimitSettings, Window};
use crate::error::{ApiError, ApiResult};

/// One configured limit: its name in `RateLimit-Policy`, and its limiter.
struct Limit<K: Hash + Eq + Clone> {
    name: &'static str,
    window: Window,
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(name: &'static str, window: Window) -> Self {
        let burst = NonZeroU32::new(window.requests.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs(window.window_secs.max(1)) / burst.get();
        let quota = Quota::with_period(period.max(Duration::from_micros(1)))
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        Self { name, window, limiter: DefaultKeyedRateLimiter::keyed(quota) }
    }

    fn check(&self, key: &K) -> ApiResult<()> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut e = ApiError::too_many_requests(secs.max(1));
            e.headers = Some(Box::new(vec![
                (
                    "RateLimit-Policy",
                    format!("\"{}\";q={};w={}", self.name, self.window.requests, self.window.window_secs),
                ),
                ("RateLimit", format!("\"{}\";r=0;t={}", self.name, secs.max(1))),
            ]));
            e
        })
    }
}

/// What a per-user limit counts.
#[derive(Debug, Clone, Copy)]
pub enum Create {
    Group,
    Thread,
    Comment,
    Report,
    Invite,
}

pub struct RateLimits {
    enabled: bool,
    trusted_proxies: Vec<Network>,
    login_account: Limit<String>,
    login_address: Limit<IpAddr>,
    register_address: Limit<IpAddr>,
    password_reset_address: Limit<IpAddr>,
    groups: Limit<Uuid>,
    threads: Limit<Uuid>,
    comments: Limit<Uuid>,
    reports: Limit<Uuid>,
    invites: Limit<Uuid>,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings, trusted_proxies: &[String]) -> anyhow::Result<Arc<Self>> {
        let trusted_proxies =
            trusted_proxies.iter().map(|p| Network::parse(p)).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Arc::new(Self {
            enabled: settings.enabled,
            trusted_proxies,
            login_account: Limit::new("login-account", settings.login_per_account),
            login_address: Limit::new("login-address", settings.login_per_address),
            register_address: Limit::new("register-address", settings.register_per_address),
            password_reset_address: Limit::new("password-reset-address", settings.password_reset_per_address),
            groups: Limit::new("groups", settings.groups_per_user),
            threads: Limit::new("threads", settings.threads_per_user),
            comments: Limit::new("comments", settings.comments_per_user),
            reports: Limit::new("reports", settings.reports_per_user),
            invites: Limit::new("invites", settings.invites_per_user),
        }))
    }

    /// A password attempt (login, password change): limited per client
    /// address and per account (`login` as typed, case-folded), so neither
    /// many accounts from one address nor one account from many addresses
    /// can be tried without limit.
    pub fn password_attempt(&self, client: ClientAddr, account: &str) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.login_address.check(&client.0)?;
        self.login_account.check(&account.trim().to_lowercase())
    }

    pub fn register(&self, client: ClientAddr) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.register_address.check(&client.0)
    }

    pub fn password_reset(&self, client: ClientAddr) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.password_reset_address.check(&client.0)
    }

    /// A create by `user` (from a well-signed token: a revoked one is refused
    /// later by the access policy, and counting it first does no harm).
    pub fn create(&self, what: Create, caller: &Caller) -> ApiResult<()> {
        let user = caller.unverified_key().0;
        if !self.enabled {
            return Ok(());
        }
        let limit = match what {
            Create::Group => &self.groups,
            Create::Thread => &self.threads,
            Create::Comment => &self.comments,
            Create::Report => &self.reports,
            Create::Invite => &self.invites,
        };
        limit.check(&user)
    }

    /// Forgets keys whose limit has fully replenished; run periodically.
    pub fn retain_recent(&self) {
        self.login_account.limiter.retain_recent();
        self.login_address.limiter.retain_recent();
        self.register_address.limiter.retain_recent();
        self.password_reset_address.limiter.retain_recent();
        for l in [&self.groups, &self.threads, &self.comments, &self.reports, &self.invites] {
            l.limiter.retain_recent();
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(ip))
    }

    /// The client's address as [`RateLimits`]'s header rule says.
    pub fn client_addr(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded = forwarded_chain(req);
        Some(forwarded.into_iter().rev().find(|ip| !self.is_trusted(*ip)).unwrap_or(peer))
    }
}

/// Every address in `X-Forwarded-For`, else in `Forwarded: for=`, in order.
fn forwarded_chain(req: &HttpRequest) -> Vec<IpAddr> {
    let headers = req.headers();
    let xff: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("for") {
                return None;
            }
            let v = v.trim().trim_matches('"');
            // `[2001:db8::1]:4711` or `192.0.2.1:4711` or a bare address.
            let host = match v.strip_prefix('[') {
                Some(rest) => rest.split(']').next().unwrap_or(""),
                None if v.matches(':').count() == 1 => v.split(':').next().unwrap_or(""),
                None => v,
            };
            host.parse().ok()
        })
        .collect()
}

/// An address or a CIDR network, e.g. `10.0.0.0/8`.
#[derive(Debug, Clone, Copy)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(s: &str) -> anyhow::Result<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr.trim().parse().map_err(|_| anyhow::anyhow!("server.trusted_proxies: bad address {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max),
            None => Some(max),
        }
        .ok_or_else(|| anyhow::anyhow!("server.trusted_proxies: bad prefix in {s:?}"))?;
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The client's address (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// This address's key in the password-hashing queue.
    pub fn queue_key(self) -> String {
        format!("addr:{}", self.0)
    }
}

impl FromRequest for ClientAddr {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let addr = req
            .app_data::<web::Data<Arc<RateLimits>>>()
            .and_then(|limits| limits.client_addr(req))
            .or_else(|| req.peer_addr().map(|a| a.ip()))
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        ready(Ok(Self(addr)))
    }
}

#[cfg(test)]
mod tests {
    use super::Network;

    #[test]
    fn networks_contain_their_addresses() {
        let n = Network::parse("10.0.0.0/8").expect("net");
        assert!(n.contains("10.1.2.3".parse().expect("ip")));
        assert!(!n.contains("11.0.0.1".parse().expect("ip")));
        let one = Network::parse("127.0.0.1").expect("ip");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(one.contains("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        assert!(Network::parse("::1/128").expect("v6").contains("::1".parse().expect("ip")));
        assert!(Network::parse("10.0.0.0/33").is_err());
    }
}
