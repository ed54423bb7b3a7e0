//! `regauth healthcheck`: exit 0 when this configuration's server answers (container
//! health checks), without an HTTP client library: one GET over a plain TCP stream.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use super::CliError;
use crate::infra::config::Settings;

/// What `healthcheck` checks when no --url is given.
#[derive(Debug, PartialEq, Eq)]
pub enum Probe {
    /// GET this plain-HTTP URL, expect 200.
    Http(String),
    /// Only connect: the listener speaks TLS, and a TLS client here would need the CA
    /// (and a name in the certificate) for a check that proves little more.
    Tcp(SocketAddr),
}

/// The probe for this configuration's own server. The internal notifications listener
/// is preferred because it is plain HTTP even when the public one has TLS. A wildcard
/// listen address (0.0.0.0, [::]) is probed on loopback; a specific one on itself,
/// since that is the only address it answers on.
pub fn default_probe(settings: &Settings) -> Probe {
    let internal = settings.server.notifications_listen;
    let mut addr = internal.unwrap_or(settings.server.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    if internal.is_none() && settings.server.tls_files().is_some() {
        Probe::Tcp(addr)
    } else {
        Probe::Http(format!("http://{addr}/healthz"))
    }
}

pub fn run(probe: Probe) -> Result<(), CliError> {
    match probe {
        Probe::Http(url) => http(&url),
        Probe::Tcp(addr) => connect(addr).map(drop),
    }
}

fn connect(addr: SocketAddr) -> Result<TcpStream, CliError> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| CliError::Failed(format!("unhealthy: cannot connect to {addr}: {e}")))
}

fn http(url: &str) -> Result<(), CliError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| CliError::Failed("--url must start with http://".into()))?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .map_err(CliError::from)?
        .next()
        .ok_or_else(|| CliError::Failed(format!("cannot resolve {hostport}")))?;
    let mut conn = connect(addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(CliError::from)?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").map_err(CliError::from)?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).map_err(CliError::from)?;
    if head.starts_with(b"HTTP/1.") && &head[9..12] == b"200" {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "unhealthy: {}",
            String::from_utf8_lossy(&head)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthcheck_probes_the_plain_http_listener_of_the_configuration() {
        let mut s = Settings::default();
        s.server.listen = "0.0.0.0:6001".parse().unwrap();
        assert_eq!(
            default_probe(&s),
            Probe::Http("http://127.0.0.1:6001/healthz".into())
        );
        s.server.tls_cert = Some("c.pem".into());
        s.server.tls_key = Some("k.pem".into());
        assert_eq!(
            default_probe(&s),
            Probe::Tcp("127.0.0.1:6001".parse().unwrap())
        );
        s.server.notifications_listen = Some("[::]:6002".parse().unwrap());
        assert_eq!(
            default_probe(&s),
            Probe::Http("http://[::1]:6002/healthz".into())
        );
        s.server.notifications_listen = Some("10.1.2.3:6002".parse().unwrap());
        assert_eq!(
            default_probe(&s),
            Probe::Http("http://10.1.2.3:6002/healthz".into())
        );
    }
}
