//! Mail the server sends: invitations, over SMTP when a mail server is configured. The
//! password never travels in the URL (which may sit in a process list or a unit file): it
//! comes separately, from the environment of `upkeep serve`.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long a mail server may take to answer before the invitation falls back to its link.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom the server sends mail.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://[user@]host[:port]` (add `?tls=required` for STARTTLS) or
    /// `smtps://[user@]host[:port]` (TLS from the start).
    pub url: String,
    /// The sender, e.g. `Upkeep <upkeep@agency.test>`.
    pub from: String,
    /// The SMTP password of the URL's user.
    pub password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(
        "the SMTP URL holds a password; give it in UPKEEP_SMTP_PASSWORD instead, so that it is in no process list"
    )]
    PasswordInUrl,
    #[error("invalid SMTP URL `{url}`: {reason}")]
    Url { url: String, reason: String },
    #[error("invalid sender `{from}`: {reason}")]
    From { from: String, reason: String },
    #[error("invalid recipient `{to}`: {reason}")]
    To { to: String, reason: String },
    #[error("the mail could not be made: {0}")]
    Message(String),
    #[error("the mail server did not take the mail: {0}")]
    Send(String),
}

/// Sends the server's mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// What an invitation mail says.
pub struct InvitationMail<'a> {
    pub to: &'a str,
    pub workspace: &'a str,
    pub inviter: &'a str,
    pub role: &'a str,
    pub link: &'a str,
    pub expires_at: &'a str,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let user = url_user(&settings.url)?;
        let url_error = |reason: String| MailError::Url {
            url: settings.url.clone(),
            reason,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|error| url_error(error.to_string()))?
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = user {
            let password = settings.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from = settings.from.parse().map_err(|error| MailError::From {
            from: settings.from.clone(),
            reason: format!("{error}"),
        })?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send_invitation(&self, mail: &InvitationMail<'_>) -> Result<(), MailError> {
        let to: Mailbox = mail.to.parse().map_err(|error| MailError::To {
            to: mail.to.to_string(),
            reason: format!("{error}"),
        })?;
        let body = format!(
            "{inviter} invites you to the workspace \"{workspace}\" on Upkeep, as a {role}.\r\n\
             \r\n\
             Accept the invitation:\r\n\
             {link}\r\n\
             \r\n\
             The link works once, until {expires}. If you did not expect this mail, ignore it.\r\n",
            inviter = mail.inviter,
            workspace = mail.workspace,
            role = mail.role.replace('_', " "),
            link = mail.link,
            expires = mail.expires_at,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("You are invited to {} on Upkeep", mail.workspace))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|error| MailError::Message(error.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|error| MailError::Send(error.to_string()))?;
        Ok(())
    }
}

/// The user of an SMTP URL, refusing one that carries a password too.
fn url_user(url: &str) -> Result<Option<String>, MailError> {
    let Some((_, rest)) = url.split_once("://") else {
        return Err(MailError::Url {
            url: url.to_string(),
            reason: "it needs a scheme, `smtp://` or `smtps://`".to_string(),
        });
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let Some((user_info, _)) = authority.rsplit_once('@') else {
        return Ok(None);
    };
    if user_info.contains(':') {
        return Err(MailError::PasswordInUrl);
    }
    Ok(Some(user_info.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_without_being_repeated() {
        let error = url_user("smtp://mailer:hunter2@mail.test:587").unwrap_err();
        assert!(matches!(error, MailError::PasswordInUrl));
        assert!(!error.to_string().contains("hunter2"));
        assert_eq!(
            url_user("smtps://mailer@mail.test").unwrap().as_deref(),
            Some("mailer")
        );
        assert_eq!(url_user("smtp://mail.test:25").unwrap(), None);
        assert!(url_user("mail.test").is_err());
    }
}
