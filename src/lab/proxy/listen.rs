//! Listen addresses: resolving what a user typed (`localhost:0`, `:8080`,
//! `0.0.0.0:0`, `""`) into a socket address, and binding it.
//!
//! Like Toxiproxy: `localhost` means 127.0.0.1; an empty host or `0.0.0.0`
//! means every interface, bound dual-stack as `[::]` where IPv6 exists; the
//! address reported afterwards is the one actually bound.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

/// A listen address after name resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub address: SocketAddr,
    /// All interfaces: try `[::]` (dual-stack), fall back to `0.0.0.0`.
    pub wildcard: bool,
}

impl Resolved {
    /// The text a bound proxy with this address would report, when it can be
    /// known before binding (port 0 cannot).
    pub(crate) fn reported(&self) -> Option<String> {
        if self.address.port() == 0 {
            return None;
        }
        if self.wildcard {
            return Some(
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), self.address.port()).to_string(),
            );
        }
        Some(self.address.to_string())
    }
}

/// Resolves `listen`; the error text follows Go's (`address X: missing port in address`).
pub(crate) async fn resolve(listen: &str) -> Result<Resolved, String> {
    if listen.is_empty() {
        return Ok(wildcard(0));
    }
    let Some((host, port)) = listen.rsplit_once(':') else {
        return Err(format!("address {listen}: missing port in address"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("address {listen}: invalid port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host == "0.0.0.0" || host == "::" {
        return Ok(wildcard(port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(specific(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        )));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(specific(SocketAddr::new(ip, port)));
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| format!("listen tcp {listen}: {error}"))?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or_else(|| addresses.first())
        .map(|address| specific(*address))
        .ok_or_else(|| format!("listen tcp {listen}: no address found"))
}

fn wildcard(port: u16) -> Resolved {
    Resolved {
        address: SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        wildcard: true,
    }
}

fn specific(address: SocketAddr) -> Resolved {
    Resolved {
        address,
        wildcard: false,
    }
}

/// Binds a resolved address; the error text names the listen text.
pub(crate) async fn bind(listen: &str, resolved: Resolved) -> Result<TcpListener, String> {
    match TcpListener::bind(resolved.address).await {
        Ok(listener) => Ok(listener),
        Err(_) if resolved.wildcard => {
            let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), resolved.address.port());
            TcpListener::bind(v4)
                .await
                .map_err(|error| format!("listen tcp {listen}: {error}"))
        }
        Err(error) => Err(format!("listen tcp {listen}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_like_toxiproxy() {
        let local = resolve("localhost:3310").await.unwrap();
        assert_eq!(local.address.to_string(), "127.0.0.1:3310");
        assert!(resolve("").await.unwrap().wildcard);
        assert!(resolve("0.0.0.0:0").await.unwrap().wildcard);
        assert!(resolve(":80").await.unwrap().wildcard);
        assert_eq!(
            resolve("[::1]:5").await.unwrap().address.to_string(),
            "[::1]:5"
        );
        assert_eq!(
            resolve("bogus").await.unwrap_err(),
            "address bogus: missing port in address"
        );
        assert!(resolve("127.0.0.1:99999").await.is_err());
        assert_eq!(resolve("127.0.0.1:0").await.unwrap().reported(), None);
    }
}
