//! Outgoing mail: SMTP through `lettre` when `mail.smtp_url` is set
//! (`smtp://host:port` plain, `smtp://…?tls=required` STARTTLS,
//! `smtps://host` TLS; `user:password@` for credentials), otherwise each
//! message is written as an `.eml` file under `<data_dir>/mail/` and its path
//! logged, so a developer can follow the link by hand.

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Settings;

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let from: Mailbox = settings.mail.from.parse().context("mail.from is not an address")?;
        let transport = match &settings.mail.smtp_url {
            Some(url) if !url.expose_secret().is_empty() => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("mail.smtp_url")?
                    .build(),
            ),
            _ => Transport::Files(settings.database.data_dir.join("mail")),
        };
        Ok(Self { from, transport })
    }

    /// Sends a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse().context("recipient address")?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .context("building the message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending over SMTP")?;
            }
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
                let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(path = %path.display(), "no SMTP configured: mail written to a file");
            }
        }
        Ok(())
    }
}
