//! Outgoing mail: SMTP through `lettre` when `mail.smtp_url` is set
//! (`smtp://host:port` plain, `smtp://…?tls=required` STARTTLS,
//! `smtps://host` TLS; `user:password@` for credentials), otherwise each
//! message is written as an `.eml` file under `<data_dir>/mail/` and its path
//! logged, so a developer can follow the link by hand.
//!
//! Every message has a `Date` and a `Message-ID` (`<uuid@domain of mail.from>`)
//! and a plain-text part. Notification mail also carries `List-Unsubscribe`
//! and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
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
    /// The right-hand side of every Message-ID: the sender's domain.
    id_domain: String,
    transport: Transport,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The one-click unsubscribe URL of a notification mail: sent as
    /// `List-Unsubscribe: <url>` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub unsubscribe: Option<String>,
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
        let id_domain = from.email.domain().to_owned();
        Ok(Self { from, id_domain, transport })
    }

    /// Sends a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        self.send_message(Outgoing {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: body,
            unsubscribe: None,
        })
        .await
    }

    /// Sends `out`; returns once the SMTP server has accepted it (or the file is written).
    pub async fn send_message(&self, out: Outgoing) -> anyhow::Result<()> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(out.to.parse().context("recipient address")?)
            .subject(out.subject)
            .message_id(Some(format!("<{}@{}>", uuid::Uuid::new_v4(), self.id_domain)))
            .header(ContentType::TEXT_PLAIN)
            .body(out.text)
            .context("building the message")?;
        if let Some(url) = out.unsubscribe {
            // Sent as built: lettre's encoder may fold or encode a long
            // value, and a URL must reach the mailbox provider untouched.
            anyhow::ensure!(
                url.bytes().all(|b| b.is_ascii_graphic()) && url.len() < 900,
                "an unsubscribe URL must be printable ASCII without spaces"
            );
            let headers = message.headers_mut();
            let value = format!("<{url}>");
            headers.insert_raw(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii("List-Unsubscribe".into())?,
                value.clone(),
                value,
            ));
            let one_click = "List-Unsubscribe=One-Click".to_owned();
            headers.insert_raw(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii("List-Unsubscribe-Post".into())?,
                one_click.clone(),
                one_click,
            ));
        }
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
