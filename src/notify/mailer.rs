//! Delivery: SMTP through lettre when `mail.smtp_url` is set, otherwise `.eml` files under
//! `data_dir/mail` (the embedded default, readable by a newcomer without a mail server).

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::repo::OutboxRow;

/// The longest one delivery may take in all. lettre's timeout bounds each read, but a server
/// that accepts the connection and never greets held a send (and its job run) until it hung up;
/// bounded, a send always ends well inside the claim on its row (`mail.claim_secs`, 120).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Files {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Mailer> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from is not an address: {e}"))?;
        match smtp_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url is not usable: {e}"))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build();
                Ok(Mailer::Smtp { transport, from })
            }
            None => {
                let dir = data_dir.join("mail");
                std::fs::create_dir_all(&dir)?;
                Ok(Mailer::Files {
                    transport: AsyncFileTransport::new(&dir),
                    dir,
                    from,
                })
            }
        }
    }

    /// Where file mail goes, for the README and the logs.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "SMTP".into(),
            Mailer::Files { dir, .. } => format!(".eml files in {}", dir.display()),
        }
    }

    pub async fn send(&self, row: &OutboxRow) -> Result<(), String> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from.clone(),
        };
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("bad recipient {}: {e}", row.recipient))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@gongyi>", row.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(row.body.clone())
            .map_err(|e| format!("cannot build message: {e}"))?;
        match self {
            Mailer::Smtp { transport, .. } => {
                match tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| crate::error::chain_of(&e)),
                    Err(_) => Err(format!(
                        "no answer from the SMTP server within {} s",
                        SEND_TIMEOUT.as_secs()
                    )),
                }
            }
            Mailer::Files { transport, .. } => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| crate::error::chain_of(&e)),
        }
    }
}
