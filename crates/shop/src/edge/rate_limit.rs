//! Per-client rate limits on writes (`rate_limit.*`): a GCRA limiter per
//! client address (governor), for every write of the REST resources (any
//! method but `GET`, `HEAD`, `OPTIONS`), and a second one for creating
//! carts. Beyond either: `429` with `Retry-After`. Reads and operational
//! endpoints are never limited. Each instance limits on its own.
//!
//! The limits are route layers: REST puts [`limit`] on its resources' routes;
//! GraphQL, whose `POST` may be a read or a write, puts [`hand_over`] on its
//! route, which gives the document its client's limits ([`ClientLimits`]) to
//! check each mutation against.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use super::ApiError;
use crate::settings::RateLimitSettings;

/// The limiters, and which peers are proxies whose `X-Forwarded-For` to believe.
pub struct RateLimits {
    writes: DefaultKeyedRateLimiter<IpAddr>,
    new_carts: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpNet>,
    checks: AtomicU64,
}

/// How often the limiters forget clients that are back to a full bucket:
/// what keeps their memory bounded by the clients of the last moments.
const FORGET_EVERY: u64 = 4096;

impl RateLimits {
    /// The limits of `settings`, trusting `X-Forwarded-For` from `trusted_proxies`.
    pub fn new(settings: &RateLimitSettings, trusted_proxies: Vec<IpNet>) -> Self {
        let per_second = NonZeroU32::new(settings.writes_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.burst).unwrap_or(per_second);
        let carts = NonZeroU32::new(settings.carts_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            writes: DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            new_carts: DefaultKeyedRateLimiter::keyed(Quota::per_minute(carts).allow_burst(carts)),
            trusted_proxies,
            checks: AtomicU64::new(0),
        }
    }

    /// `Err` with the seconds to wait when `client` is over a limit for this request.
    pub fn check(&self, client: IpAddr, creates_a_cart: bool) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(FORGET_EVERY) {
            self.writes.retain_recent();
            self.new_carts.retain_recent();
        }
        let now = DefaultClock::default().now();
        let wait = |limited: governor::NotUntil<_>| limited.wait_time_from(now).as_secs_f64().ceil().max(1.0) as u64;
        self.writes.check_key(&client).map_err(wait)?;
        if creates_a_cart {
            self.new_carts.check_key(&client).map_err(wait)?;
        }
        Ok(())
    }

    /// The client of a request from `peer`: `peer` itself, or, if it is a
    /// trusted proxy, the last address of `X-Forwarded-For` that is not one.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |address: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(address));
        if !trusted(&peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            let Ok(address) = hop.trim().trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() else {
                break; // not an address: believe nothing before it
            };
            client = address;
            if !trusted(&address) {
                break;
            }
        }
        client
    }
}

/// The limits of one request's client.
#[derive(Clone)]
pub struct ClientLimits {
    limits: Arc<RateLimits>,
    client: IpAddr,
}

impl ClientLimits {
    /// `Err` with the seconds to wait when the client may not write now
    /// (`creates_a_cart`: nor create a cart).
    pub fn check(&self, creates_a_cart: bool) -> Result<(), u64> {
        self.limits.check(self.client, creates_a_cart)
    }
}

/// What a route's writes count against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// The write limit.
    Any,
    /// The write limit and the limit on new carts.
    NewCart,
}

/// The peer's address; `None` when the request came from no socket (a
/// test's router): nobody to limit.
fn peer(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// Route layer: the route's writes within the limits of their client, `429`
/// with `Retry-After` beyond; reads pass.
pub async fn limit(
    State((limits, writes)): State<(Arc<RateLimits>, Writes)>,
    request: Request,
    next: Next,
) -> Response {
    let write = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(peer) = peer(&request).filter(|_| write) {
        let client = limits.client(peer, request.headers());
        if let Err(retry_after) = limits.check(client, writes == Writes::NewCart) {
            return ApiError::RateLimited { retry_after }.into_response();
        }
    }
    next.run(request).await
}

/// Route layer: hands the request its client's [`ClientLimits`], for a
/// route that checks its writes itself.
pub async fn hand_over(State(limits): State<Arc<RateLimits>>, mut request: Request, next: Next) -> Response {
    if let Some(peer) = peer(&request) {
        let client = limits.client(peer, request.headers());
        request.extensions_mut().insert(ClientLimits { limits, client });
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn limits(trusted: &[&str]) -> RateLimits {
        let settings = RateLimitSettings { enabled: true, writes_per_second: 1, burst: 2, carts_per_minute: 1 };
        RateLimits::new(&settings, trusted.iter().map(|net| net.parse().expect("a network")).collect())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).expect("a value"));
        }
        headers
    }

    #[test]
    fn the_client_is_the_last_untrusted_forwarded_address() {
        let limits = limits(&["10.0.0.0/8", "127.0.0.1/32"]);
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        let spoofed = forwarded(&["1.1.1.1, 2.2.2.2", "10.0.0.7"]);
        assert_eq!(limits.client(ip("127.0.0.1"), &spoofed), ip("2.2.2.2"), "the proxy chain is peeled off");
        assert_eq!(limits.client(ip("9.9.9.9"), &spoofed), ip("9.9.9.9"), "an untrusted peer's header means nothing");
        assert_eq!(limits.client(ip("10.0.0.1"), &forwarded(&[])), ip("10.0.0.1"));
        assert_eq!(limits.client(ip("10.0.0.1"), &forwarded(&["nonsense, 10.0.0.3"])), ip("10.0.0.3"));
        assert_eq!(limits.client(ip("10.0.0.1"), &forwarded(&["[2001:db8::1]"])), ip("2001:db8::1"));
    }

    #[test]
    fn a_burst_past_the_limit_waits() {
        let limits = limits(&[]);
        let client = "192.0.2.1".parse().expect("an address");
        assert_eq!(limits.check(client, false), Ok(()));
        assert_eq!(limits.check(client, false), Ok(()), "the burst");
        assert_eq!(limits.check(client, false), Err(1), "then one a second");
        let other = "192.0.2.2".parse().expect("an address");
        assert_eq!(limits.check(other, true), Ok(()), "each client has its own");
        assert_eq!(limits.check(other, true), Err(60), "one cart a minute");
    }
}
