//! Invitations by mail, through a real SMTP dialogue with a receiver on loopback: the invitee
//! gets the one-time link (the inviter does not), the server authenticates with the password it
//! was given apart from the URL, and a mail server that is down costs nothing — the invitation
//! holds and its link goes to the inviter.

mod common;

use common::smtp::SmtpReceiver;
use common::{PASSWORD, Server, set_up};
use serde_json::json;
use upkeep_server::{MailSettings, Settings};

fn server_mailing_through(dir: &std::path::Path, url: String) -> Server {
    Server::start_with(Settings {
        mail: Some(MailSettings {
            url,
            from: "Upkeep <upkeep@agency.test>".to_string(),
            password: Some("mail-password-1".to_string()),
        }),
        ..Settings::new(dir)
    })
}

/// The body of a mail as a mail reader shows it: quoted-printable (`=3D`, soft line breaks)
/// decoded.
fn decoded(data: &str) -> String {
    let (_, body) = data.split_once("\r\n\r\n").unwrap();
    let joined = body.replace("=\r\n", "");
    let mut text = Vec::new();
    let mut bytes = joined.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'=' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            text.push(u8::from_str_radix(&hex, 16).unwrap());
        } else {
            text.push(byte);
        }
    }
    String::from_utf8(text).unwrap()
}

#[test]
fn the_invitee_gets_the_link_by_mail() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = SmtpReceiver::start();
    let server = server_mailing_through(
        dir.path(),
        format!("smtp://mailer@127.0.0.1:{}", receiver.port),
    );
    let (mut admin, workspace) = set_up(&server);
    let (status, invitation) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["mailed"], true);
    // Mailed: only the invitee holds the link.
    assert!(invitation.get("link").is_none() && invitation.get("token").is_none());

    let mails = receiver.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "upkeep@agency.test");
    assert_eq!(mail.to, ["dev@agency.test"]);
    assert_eq!(
        mail.auth,
        Some(("mailer".to_string(), "mail-password-1".to_string()))
    );
    assert!(
        mail.data
            .contains("Subject: You are invited to b2c-shop on Upkeep"),
        "{}",
        mail.data
    );
    assert!(
        decoded(&mail.data).contains(
            "Ops invites you to the workspace \"b2c-shop\" on Upkeep, as a regular user."
        ),
        "{}",
        mail.data
    );
    let prefix = format!("{}/invitations/accept?token=", server.url);
    let token = decoded(&mail.data)
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no link in the mail: {}", mail.data))
        .to_string();

    let mut developer = server.client();
    let (status, body) = developer.call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": token, "display_name": "Dev", "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "regular_user");
}

#[test]
fn a_mail_server_that_is_down_leaves_the_link_with_the_inviter() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = server_mailing_through(dir.path(), format!("smtp://mailer@127.0.0.1:{closed}"));
    let (mut admin, workspace) = set_up(&server);
    let (status, invitation) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "super_user" })),
    );
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["mailed"], false);
    let error = invitation["mail_error"].as_str().unwrap();
    assert!(error.contains("did not take the mail"), "{error}");
    assert!(!error.contains("mail-password-1"), "{error}");
    assert!(
        invitation["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/invitations/accept?token=", server.url))
    );
    let (_, pending) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        None,
    );
    assert_eq!(pending["invitations"][0]["email"], "dev@agency.test");
}

#[test]
fn a_password_in_the_smtp_url_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let error = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let settings = Settings {
            mail: Some(MailSettings {
                url: "smtp://mailer:hunter22@127.0.0.1:25".to_string(),
                from: "upkeep@agency.test".to_string(),
                password: None,
            }),
            ..Settings::new(dir.path())
        };
        upkeep_server::App::new(settings, listener).await.err()
    });
    let message = error.expect("the server started").to_string();
    assert!(message.contains("UPKEEP_SMTP_PASSWORD"), "{message}");
    assert!(!message.contains("hunter22"), "{message}");
}
