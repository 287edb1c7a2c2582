//! Takes libpq's `sslmode` and `sslrootcert` out of a database URL, in either
//! of libpq's forms: `postgres://…?sslmode=…` or `host=… sslmode=…`.

use std::fmt;
use std::path::PathBuf;

use anyhow::bail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> anyhow::Result<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            // libpq's `allow` tries plain first; TLS when offered is no worse.
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                bail!("sslmode must be disable, prefer, require, verify-ca or verify-full, not {other:?}")
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    /// The URL without the two settings, for tokio-postgres.
    pub rest: String,
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

pub fn split_ssl(url: &str) -> anyhow::Result<Split> {
    let (rest, pairs) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        split_uri(url)
    } else {
        split_key_values(url)?
    };
    let mut mode = None;
    let mut root_cert = None;
    for (key, value) in pairs {
        match key.as_str() {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            _ => root_cert = Some(PathBuf::from(value)),
        }
    }
    // libpq: a root certificate given with `require` verifies the chain, as verify-ca.
    let mode = match (mode.unwrap_or(SslMode::Prefer), &root_cert) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (mode, _) => mode,
    };
    Ok(Split { rest, mode, root_cert })
}

fn is_ssl_key(key: &str) -> bool {
    key == "sslmode" || key == "sslrootcert"
}

fn split_uri(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_owned(), Vec::new()) };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        if is_ssl_key(key) {
            taken.push((key.to_owned(), percent_decode(value)));
        } else {
            kept.push(param);
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    (rest, taken)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key=value` pairs separated by spaces; a value may be single-quoted, with
/// `\'` and `\\` escapes inside.
fn split_key_values(url: &str) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    let mut chars = url.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            bail!("invalid database URL: {key:?} has no value");
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut raw = String::new();
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            raw.push('\'');
            loop {
                match chars.next() {
                    Some('\\') => {
                        let escaped = chars.next().unwrap_or('\\');
                        raw.extend(['\\', escaped]);
                        value.push(escaped);
                    }
                    Some('\'') => break raw.push('\''),
                    Some(c) => {
                        raw.push(c);
                        value.push(c);
                    }
                    None => bail!("invalid database URL: unterminated quote in {key:?}"),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect();
            raw.clone_from(&value);
        }
        if is_ssl_key(&key) {
            taken.push((key, value));
        } else {
            kept.push(format!("{key}={raw}"));
        }
    }
    Ok((kept.join(" "), taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_form_loses_only_the_ssl_settings() {
        let s = split_ssl("postgres://u:p@db:5432/x?application_name=a&sslmode=verify-full&sslrootcert=%2Fca%20dir%2Fca.pem")
            .unwrap();
        assert_eq!(s.rest, "postgres://u:p@db:5432/x?application_name=a");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert, Some(PathBuf::from("/ca dir/ca.pem")));
    }

    #[test]
    fn key_value_form_with_quotes() {
        let s = split_ssl("host=/tmp/x port=5432 sslmode = require sslrootcert='/a b/c\\'s.pem' dbname=d")
            .unwrap();
        assert_eq!(s.rest, "host=/tmp/x port=5432 dbname=d");
        assert_eq!(s.mode, SslMode::VerifyCa, "require with a root certificate verifies, as libpq does");
        assert_eq!(s.root_cert, Some(PathBuf::from("/a b/c's.pem")));
    }

    #[test]
    fn defaults_and_refusals() {
        assert_eq!(split_ssl("postgres://db/x").unwrap().mode, SslMode::Prefer);
        assert!(split_ssl("postgres://db/x?sslmode=sometimes").is_err());
        assert!(split_ssl("host=x dbname").is_err());
    }
}
