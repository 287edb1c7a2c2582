//! A small SMTP server in the test process: speaks enough of RFC 5321
//! (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre, and hands each
//! received message (headers and body, dot-unstuffed) to the test.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub struct SmtpInbox {
    pub url: String,
    messages: mpsc::UnboundedReceiver<String>,
    /// Received but passed over by [`SmtpInbox::next_where`].
    passed: std::collections::VecDeque<String>,
}

impl SmtpInbox {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("smtp bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 inbox.test ESMTP\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250-inbox.test\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                let _ = write.write_all(b"354 end with .\r\n").await;
                                let mut message = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    message.push_str(l.strip_prefix('.').unwrap_or(&l));
                                    message.push('\n');
                                }
                                let _ = tx.send(message);
                                b"250 queued\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 ok\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self { url: format!("smtp://127.0.0.1:{port}"), messages, passed: Default::default() }
    }

    /// The next message, or None after `secs` seconds.
    pub async fn next(&mut self, secs: u64) -> Option<String> {
        if let Some(message) = self.passed.pop_front() {
            return Some(message);
        }
        tokio::time::timeout(std::time::Duration::from_secs(secs), self.messages.recv()).await.ok().flatten()
    }

    /// The next message that `wanted` accepts, or None after `secs` seconds;
    /// the others stay for later calls, in order.
    pub async fn next_where(&mut self, secs: u64, wanted: impl Fn(&Mail) -> bool) -> Option<Mail> {
        if let Some(at) = self.passed.iter().position(|m| wanted(&Mail::parse(m))) {
            return self.passed.remove(at).map(|m| Mail::parse(&m));
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let message = tokio::time::timeout_at(deadline, self.messages.recv()).await.ok().flatten()?;
            let mail = Mail::parse(&message);
            if wanted(&mail) {
                return Some(mail);
            }
            self.passed.push_back(message);
        }
    }

    /// Every message received within `secs` seconds from now (and any passed over).
    pub async fn drain(&mut self, secs: u64) -> Vec<Mail> {
        let mut all: Vec<Mail> = self.passed.drain(..).map(|m| Mail::parse(&m)).collect();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, self.messages.recv()).await {
            all.push(Mail::parse(&message));
        }
        all
    }
}

/// A received message: its headers (names lower-cased, folded lines
/// joined) and its text body, quoted-printable decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Mail {
    pub fn parse(raw: &str) -> Mail {
        let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let quoted = headers
            .iter()
            .any(|(n, v)| n == "content-transfer-encoding" && v.eq_ignore_ascii_case("quoted-printable"));
        let body = if quoted { decode_quoted_printable(body) } else { body.to_owned() };
        Mail { headers, body }
    }

    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn to(&self) -> &str {
        self.header("to").unwrap_or("")
    }

    pub fn subject(&self) -> &str {
        self.header("subject").unwrap_or("")
    }

    /// The token of the first `?token=` link in the body.
    pub fn token(&self) -> Option<String> {
        let start = self.body.find("?token=")? + "?token=".len();
        Some(
            self.body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let raw = text.replace("=\r\n", "").replace("=\n", "");
    let raw = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' && i + 2 < raw.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("zz"), 16) {
                bytes.push(b);
                i += 3;
                continue;
            }
        }
        bytes.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
