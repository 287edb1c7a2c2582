//! A small SMTP server in the test process: speaks enough of RFC 5321
//! (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre, and hands each
//! received message (headers and body, dot-unstuffed) to the test.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub struct SmtpInbox {
    pub url: String,
    messages: mpsc::UnboundedReceiver<String>,
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
        Self { url: format!("smtp://127.0.0.1:{port}"), messages }
    }

    /// The next message, or None after `secs` seconds.
    pub async fn next(&mut self, secs: u64) -> Option<String> {
        tokio::time::timeout(std::time::Duration::from_secs(secs), self.messages.recv()).await.ok().flatten()
    }
}
