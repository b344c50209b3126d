//! Following a step's log over server-sent events. Each event's id is the log offset after its
//! line, so after a dropped connection the stream is opened again with `Last-Event-ID` and goes
//! on after the last line printed: nothing lost, nothing twice. An event counts only once its
//! blank line arrived; a connection cut in the middle of one drops the part.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use super::RemoteError;
use super::client::Client;

/// How often in a row a dropped connection is opened again before giving up.
const RECONNECTS: u32 = 8;

/// What a stream said before it ended.
enum Ended {
    /// The `end` event, with the step's status.
    Step(String),
    /// The connection dropped (or the server went away) before it.
    Dropped(String),
}

/// Follows the events at `path` until the `end` event: gives each line to `line` and each
/// notice to `notice`; returns the step's status.
pub fn follow(
    client: &Client,
    path: &str,
    line: &mut dyn FnMut(&str),
    notice: &mut dyn FnMut(&str),
) -> Result<String, RemoteError> {
    let mut last_id: Option<u64> = None;
    let mut failures = 0;
    loop {
        let ended = match client.events(path, last_id) {
            Ok(stream) => read_events(stream, &mut last_id, line, &mut failures),
            Err(RemoteError::Unreachable { detail, .. }) => Ended::Dropped(detail),
            Err(error) => return Err(error),
        };
        match ended {
            Ended::Step(status) => return Ok(status),
            Ended::Dropped(detail) => {
                failures += 1;
                if failures > RECONNECTS {
                    return Err(RemoteError::Unreachable {
                        server: client.server().to_string(),
                        detail,
                    });
                }
                let from = last_id.map_or_else(
                    || "from the start".to_string(),
                    |offset| format!("after byte {offset}"),
                );
                notice(&format!(
                    "the connection to {} dropped ({detail}); resuming the log {from}",
                    client.server()
                ));
                std::thread::sleep(Duration::from_millis(200) * failures.min(10));
            }
        }
    }
}

/// Reads events until the stream ends; an event received means the connection works again.
fn read_events(
    stream: super::client::Stream,
    last_id: &mut Option<u64>,
    line: &mut dyn FnMut(&str),
    failures: &mut u32,
) -> Ended {
    let mut reader = BufReader::new(stream);
    let (mut id, mut event, mut data) = (None::<String>, String::new(), Vec::<String>::new());
    let mut text = String::new();
    loop {
        text.clear();
        match reader.read_line(&mut text) {
            Ok(0) => return Ended::Dropped("the stream ended".to_string()),
            Ok(_) if !text.ends_with('\n') => {
                return Ended::Dropped("the stream ended in an event".to_string());
            }
            Ok(_) => {}
            Err(error) => return Ended::Dropped(error.to_string()),
        }
        let field = text.trim_end_matches(['\n', '\r']);
        if field.is_empty() {
            // A blank line ends the event.
            if event == "end" {
                return Ended::Step(data.join("\n"));
            }
            if !data.is_empty() {
                line(&line_text(&data.join("\n")));
                *failures = 0;
            }
            if let Some(offset) = id.take().and_then(|id| id.parse().ok()) {
                *last_id = Some(offset);
            }
            event.clear();
            data.clear();
            continue;
        }
        if field.starts_with(':') {
            continue; // a comment: the server's keep-alive
        }
        let (name, value) = field.split_once(':').unwrap_or((field, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "id" => id = Some(value.to_string()),
            "event" => event = value.to_string(),
            "data" => data.push(value.to_string()),
            _ => {}
        }
    }
}

/// A line's text from its event's data: the line as JSON (`{"time", "stream", "text"}`).
fn line_text(data: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(line) => line["text"].as_str().unwrap_or_default().to_string(),
        // Not JSON: a server that sends the bare line.
        Err(_) => data.to_string(),
    }
}
