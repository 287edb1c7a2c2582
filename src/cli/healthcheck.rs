//! `pilcrow healthcheck`: the container's HEALTHCHECK, so the image needs no
//! curl. One HTTP/1.0 GET over a plain socket, with a short timeout.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::Settings;

const TIMEOUT: Duration = Duration::from_secs(2);

pub fn check(url: Option<&str>, settings: &Settings) -> anyhow::Result<()> {
    let url = url.map_or_else(|| format!("http://127.0.0.1:{}/health", settings.server.port), str::to_owned);
    let rest = url.strip_prefix("http://").context("healthcheck --url must start with http://")?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let address = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to nothing"))?;
    let mut stream =
        TcpStream::connect_timeout(&address, TIMEOUT).with_context(|| format!("connecting to {url}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")?;
    let mut head = [0u8; 16];
    let n = stream.read(&mut head).with_context(|| format!("reading from {url}"))?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("{url} answered {status:?}, not 200");
    }
    Ok(())
}
