//! Rate limits: in-memory keyed limiters (`governor`, GCRA), one per kind of
//! request. They are per instance: behind a load balancer with N instances a
//! client can get up to N times a limit, which the defaults allow for.
//!
//! The client address is the socket peer, unless the peer is a configured
//! trusted proxy (`server.trusted_proxies`); then the rightmost address of the
//! proxy's header (`server.client_ip_header`: `Forwarded: for=` when present,
//! else `X-Forwarded-For`, or only the one named) that is not itself a trusted
//! proxy. A header from anyone else is ignored, so rotating it changes nothing.
//! Limits count an IPv6 client by its /64: one host usually holds all of it.
//!
//! Passwords are limited by their failures only (see [`RateLimits::password_attempt`]):
//! an attacker's wrong guesses must not keep the owner out.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::auth::Caller;
use crate::config::{ClientIpHeader, RateLimitSettings, Window};
use crate::error::{ApiError, ApiResult};

/// `window`'s replenish period: one request per `window_secs / requests`.
fn period_of(window: Window) -> Duration {
    let per = Duration::from_secs(window.window_secs.max(1)) / window.requests.max(1);
    per.max(Duration::from_micros(1))
}

/// 429 for limit `name`, with the wait in Retry-After and the IETF headers.
fn limited(name: &str, window: Window, wait: Duration) -> ApiError {
    limited_for(name, window, (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
}

/// 429 for limit `name` (`window`), which allows the next request in `secs`.
pub fn limited_for(name: &str, window: Window, secs: u64) -> ApiError {
    let mut e = ApiError::too_many_requests(secs);
    let headers = vec![
        ("RateLimit-Policy", format!("\"{name}\";q={};w={}", window.requests, window.window_secs)),
        ("RateLimit", format!("\"{name}\";r=0;t={secs}")),
    ];
    e.extra = Some(Box::new(crate::error::Extra { headers, ..Default::default() }));
    e
}

/// One configured limit: its name in `RateLimit-Policy`, and its limiter.
struct Limit<K: Hash + Eq + Clone> {
    name: &'static str,
    window: Window,
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(name: &'static str, window: Window) -> Self {
        let burst = NonZeroU32::new(window.burst()).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period_of(window))
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        Self { name, window, limiter: DefaultKeyedRateLimiter::keyed(quota) }
    }

    fn check(&self, key: &K) -> ApiResult<()> {
        self.limiter.check_key(key).map_err(|not_until| {
            limited(self.name, self.window, not_until.wait_time_from(DefaultClock::default().now()))
        })
    }
}

/// A GCRA limit that can give a request back: a password attempt takes its
/// place before the hash is checked (so concurrent guesses cannot all slip
/// in), and a correct password returns it, so only failures are counted.
struct Failures {
    name: &'static str,
    window: Window,
    period: Duration,
    /// How far ahead of now the theoretical arrival time may run: `burst - 1` periods.
    tolerance: Duration,
    arrivals: Mutex<HashMap<String, Instant>>,
}

impl Failures {
    fn new(name: &'static str, window: Window) -> Self {
        let period = period_of(window);
        Self {
            name,
            window,
            period,
            tolerance: period.saturating_mul(window.burst() - 1),
            arrivals: Mutex::default(),
        }
    }

    fn take(&self, key: &str, now: Instant) -> ApiResult<()> {
        let mut arrivals =
            self.arrivals.lock().map_err(|_| ApiError::internal(anyhow::anyhow!("limit lock")))?;
        let tat = arrivals.get(key).copied().unwrap_or(now).max(now);
        let allowed_from = tat.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_from > now {
            return Err(limited(self.name, self.window, allowed_from - now));
        }
        arrivals.insert(key.to_owned(), tat + self.period);
        Ok(())
    }

    fn give_back(&self, key: &str) {
        let Ok(mut arrivals) = self.arrivals.lock() else { return };
        if let Some(tat) = arrivals.get_mut(key) {
            match tat.checked_sub(self.period) {
                Some(earlier) if earlier > Instant::now() => *tat = earlier,
                _ => {
                    arrivals.remove(key);
                }
            }
        }
    }

    fn retain_recent(&self) {
        let now = Instant::now();
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.retain(|_, tat| *tat > now);
        }
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
    /// An essay import.
    Essay,
    /// An essay revision, a dry run too: both plan the whole text.
    Revision,
    /// An EventSource ticket.
    EventTicket,
}

/// The failure budgets a password attempt took, given back by
/// [`RateLimits::password_correct`] when the password was right.
#[must_use]
#[derive(Debug, Default)]
pub struct PasswordCharge {
    taken: Vec<(Budget, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Budget {
    Address,
    Account,
    Device,
}

pub struct RateLimits {
    enabled: bool,
    trusted_proxies: Vec<Network>,
    client_ip_header: ClientIpHeader,
    login_account: Failures,
    login_address: Failures,
    login_device: Failures,
    register_address: Limit<IpAddr>,
    password_reset_address: Limit<IpAddr>,
    password_reset_recipient: Limit<Uuid>,
    email_verification_user: Limit<Uuid>,
    groups: Limit<Uuid>,
    threads: Limit<Uuid>,
    comments: Limit<Uuid>,
    reports: Limit<Uuid>,
    invites: Limit<Uuid>,
    essays: Limit<Uuid>,
    revisions: Limit<Uuid>,
    event_tickets: Limit<Uuid>,
    search_address: Limit<IpAddr>,
    search_user: Limit<Uuid>,
    mentions: Limit<(Uuid, Uuid)>,
}

impl RateLimits {
    pub fn new(
        settings: &RateLimitSettings,
        trusted_proxies: &[String],
        client_ip_header: ClientIpHeader,
    ) -> anyhow::Result<Arc<Self>> {
        let trusted_proxies =
            trusted_proxies.iter().map(|p| Network::parse(p)).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Arc::new(Self {
            enabled: settings.enabled,
            trusted_proxies,
            client_ip_header,
            login_account: Failures::new("login-account", settings.login_per_account),
            login_address: Failures::new("login-address", settings.login_per_address),
            login_device: Failures::new("login-device", settings.login_per_device),
            register_address: Limit::new("register-address", settings.register_per_address),
            password_reset_address: Limit::new("password-reset-address", settings.password_reset_per_address),
            password_reset_recipient: Limit::new(
                "password-reset-recipient",
                settings.password_reset_per_recipient,
            ),
            email_verification_user: Limit::new(
                "email-verification-user",
                settings.email_verification_per_user,
            ),
            groups: Limit::new("groups", settings.groups_per_user),
            threads: Limit::new("threads", settings.threads_per_user),
            comments: Limit::new("comments", settings.comments_per_user),
            reports: Limit::new("reports", settings.reports_per_user),
            invites: Limit::new("invites", settings.invites_per_user),
            essays: Limit::new("essays", settings.essays_per_user),
            revisions: Limit::new("revisions", settings.revisions_per_user),
            event_tickets: Limit::new("event-tickets", settings.event_tickets_per_user),
            search_address: Limit::new("search-address", settings.search_per_address),
            search_user: Limit::new("search-user", settings.search_per_user),
            mentions: Limit::new("mentions", settings.mentions_per_recipient),
        }))
    }

    /// A password attempt (login, password change), before the hash is
    /// checked. Only failures count: the caller gives the charge back with
    /// [`Self::password_correct`] when the password was right.
    ///
    /// With `device` (the id of a device token this account issued to this
    /// client at an earlier successful sign-in) only that device's budget is
    /// charged; otherwise the client address's and each of `accounts`'
    /// (keys of what was typed). So an attacker who keeps an account's budget
    /// empty from many addresses locks out only clients that never signed in
    /// to it, and cannot use the owner's budget: a device token is signed by
    /// the server, names the account, and is given only for its password.
    /// Guessing stays bounded everywhere: per address, per typed login across
    /// all addresses, and per device (each needing the password to obtain).
    pub fn password_attempt(
        &self,
        client: ClientAddr,
        accounts: &[String],
        device: Option<Uuid>,
    ) -> ApiResult<PasswordCharge> {
        let mut charge = PasswordCharge::default();
        if !self.enabled {
            return Ok(charge);
        }
        let wanted: Vec<(Budget, String)> = match device {
            Some(device) => vec![(Budget::Device, device.to_string())],
            None => std::iter::once((Budget::Address, client.key().to_string()))
                .chain(accounts.iter().map(|a| (Budget::Account, a.trim().to_lowercase())))
                .collect(),
        };
        let now = Instant::now();
        for (budget, key) in wanted {
            if let Err(e) = self.budget(budget).take(&key, now) {
                self.password_correct(charge);
                return Err(e);
            }
            charge.taken.push((budget, key));
        }
        Ok(charge)
    }

    /// The password was right: what its attempt took is given back.
    pub fn password_correct(&self, charge: PasswordCharge) {
        for (budget, key) in charge.taken {
            self.budget(budget).give_back(&key);
        }
    }

    fn budget(&self, budget: Budget) -> &Failures {
        match budget {
            Budget::Address => &self.login_address,
            Budget::Account => &self.login_account,
            Budget::Device => &self.login_device,
        }
    }

    pub fn register(&self, client: ClientAddr) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.register_address.check(&client.key())
    }

    pub fn password_reset(&self, client: ClientAddr) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.password_reset_address.check(&client.key())
    }

    /// Whether another reset mail may go to `account` now. Past the limit the
    /// request is still answered alike (202), and nothing is sent.
    pub fn reset_mail(&self, account: Uuid) -> bool {
        !self.enabled || self.password_reset_recipient.check(&account).is_ok()
    }

    /// Whether another verification mail may go to `account` now
    /// (`POST /me/email-verification`). Past the limit the request is still
    /// answered 202, and nothing is sent.
    pub fn verification_mail(&self, account: Uuid) -> bool {
        !self.enabled || self.email_verification_user.check(&account).is_ok()
    }

    /// An address change's mails for `account` (`POST /me/email`), from the
    /// same budget as verification mails; past it, 429.
    pub fn email_change_mail(&self, account: Uuid) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.email_verification_user.check(&account)
    }

    /// A search, per client address and, signed in, per user.
    pub fn search(&self, client: ClientAddr, user: Option<Uuid>) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.search_address.check(&client.key())?;
        match user {
            Some(user) => self.search_user.check(&user),
            None => Ok(()),
        }
    }

    /// Whether `author` may tell `recipient` of one more mention now. Past
    /// the limit the comment is still posted; the mention reports
    /// `rate_limited` and tells nobody.
    pub fn mention(&self, author: Uuid, recipient: Uuid) -> bool {
        !self.enabled || self.mentions.check(&(author, recipient)).is_ok()
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
            Create::Essay => &self.essays,
            Create::Revision => &self.revisions,
            Create::EventTicket => &self.event_tickets,
        };
        limit.check(&user)
    }

    /// Forgets keys whose limit has fully replenished; run periodically.
    pub fn retain_recent(&self) {
        for f in [&self.login_account, &self.login_address, &self.login_device] {
            f.retain_recent();
        }
        for l in [&self.register_address, &self.password_reset_address, &self.search_address] {
            l.limiter.retain_recent();
        }
        for l in [
            &self.password_reset_recipient,
            &self.email_verification_user,
            &self.groups,
            &self.threads,
            &self.comments,
            &self.reports,
            &self.invites,
            &self.essays,
            &self.revisions,
            &self.event_tickets,
            &self.search_user,
        ] {
            l.limiter.retain_recent();
        }
        self.mentions.limiter.retain_recent();
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
        let forwarded = forwarded_chain(req, self.client_ip_header);
        Some(forwarded.into_iter().rev().find(|ip| !self.is_trusted(*ip)).unwrap_or(peer))
    }
}

/// Every address in the proxy's header, in order: `Forwarded: for=` when
/// the request has one (it is the standard, and a proxy that sets only it
/// leaves a client's own `X-Forwarded-For` untouched), else `X-Forwarded-For`;
/// or only the header `which` names.
fn forwarded_chain(req: &HttpRequest, which: ClientIpHeader) -> Vec<IpAddr> {
    let headers = req.headers();
    if which != ClientIpHeader::XForwardedFor {
        let forwarded = forwarded_for(req);
        if which == ClientIpHeader::Forwarded || !forwarded.is_empty() {
            return forwarded;
        }
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// Every `for=` address of `Forwarded` (RFC 7239), in order.
fn forwarded_for(req: &HttpRequest) -> Vec<IpAddr> {
    req.headers()
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
    /// The key per-address limits count this client by: an IPv4 address (also
    /// when written IPv4-mapped), or an IPv6 address's /64, since a host is
    /// usually given a whole /64 and could otherwise rotate through 2^64 keys.
    pub fn key(self) -> IpAddr {
        match self.0 {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
            },
            v4 => v4,
        }
    }

    /// This address's key in the password-hashing queue.
    pub fn queue_key(self) -> String {
        format!("addr:{}", self.key())
    }

    fn of(req: &HttpRequest) -> Self {
        let addr = req
            .app_data::<web::Data<Arc<RateLimits>>>()
            .and_then(|limits| limits.client_addr(req))
            .or_else(|| req.peer_addr().map(|a| a.ip()))
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Self(addr)
    }
}

/// A search's place in the search limits (per address, and per user when
/// the request carries a well-signed token), taken as the request is
/// extracted; a bad token is left to the route's own caller extractor.
pub struct SearchQuota;

impl FromRequest for SearchQuota {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(limits) = req.app_data::<web::Data<Arc<RateLimits>>>() else {
            return ready(Ok(Self));
        };
        let user = crate::auth::extract::caller_until(req)
            .ok()
            .flatten()
            .map(|(caller, _)| caller.unverified_key().0);
        ready(limits.search(ClientAddr::of(req), user).map(|()| Self))
    }
}

impl FromRequest for ClientAddr {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{ClientAddr, Failures, Network};
    use crate::config::Window;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_ipv4_by_its_address() {
        let key = |s: &str| ClientAddr(s.parse().expect("ip")).key();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:eeee:dddd:cccc"));
        assert_eq!(key("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert_eq!(ClientAddr("2001:db8::1".parse().expect("ip")).queue_key(), "addr:2001:db8::");
    }

    #[test]
    fn failures_allow_a_burst_and_given_back_places_are_free_again() {
        let f = Failures::new("t", Window { requests: 3, window_secs: 3600, burst: 0 });
        let now = Instant::now();
        for _ in 0..3 {
            f.take("k", now).expect("within the budget");
        }
        let refused = f.take("k", now).expect_err("over the budget");
        assert_eq!(refused.status.as_u16(), 429);
        f.take("other", now).expect("another key has its own budget");
        f.give_back("k");
        f.take("k", now).expect("a place given back");
        f.take("k", now + Duration::from_secs(1200)).expect("replenished after window/requests");
    }

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
