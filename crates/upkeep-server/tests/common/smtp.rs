//! An SMTP receiver on a loopback port for the mail tests: it speaks the plain SMTP dialogue a
//! mail server speaks (greeting, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) over real TCP and
//! keeps every mail it is given, with its envelope and its credentials.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

/// One mail as the receiver got it.
#[derive(Debug, Clone, Default)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed.
    pub data: String,
    /// `user` and `password` of AUTH PLAIN, when the client authenticated.
    pub auth: Option<(String, String)>,
}

pub struct SmtpReceiver {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpReceiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<ReceivedMail>>> = Arc::default();
        let kept = Arc::clone(&mails);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    let _ = converse(stream, &kept);
                });
            }
        });
        Self { port, mails }
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }
}

fn converse(stream: TcpStream, mails: &Mutex<Vec<ReceivedMail>>) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut reply = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes());
    reply("220 receiver.test ESMTP ready")?;
    let mut mail = ReceivedMail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            reply("250-receiver.test greets you")?;
            reply("250 AUTH PLAIN")?;
        } else if let Some(encoded) = command.strip_prefix("AUTH PLAIN ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|byte| *byte == 0)
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect();
            if let [_, user, password] = parts.as_slice() {
                mail.auth = Some((user.clone(), password.clone()));
            }
            reply("235 authenticated")?;
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = address(&command);
            reply("250 sender ok")?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&command));
            reply("250 recipient ok")?;
        } else if upper == "DATA" {
            reply("354 end with <CRLF>.<CRLF>")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mail.data = data;
            mails.lock().unwrap().push(std::mem::take(&mut mail));
            reply("250 queued")?;
        } else if upper == "QUIT" {
            reply("221 bye")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            reply("250 ok")?;
        } else {
            reply("502 not implemented")?;
        }
    }
}

/// The address of `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or_else(String::new, |(address, _)| address.to_string())
}
