//! The API as `upkeep remote` calls it: JSON over HTTP with the API token as a bearer token,
//! the API's refusals turned into errors that carry its code and message.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use super::RemoteError;

pub struct Client {
    agent: ureq::Agent,
    server: String,
    token: String,
}

/// A streaming response (server-sent events).
pub type Stream = Box<dyn Read + Send>;

impl Client {
    pub fn new(server: &str, token: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        Self {
            agent,
            server: server.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn get(&self, path: &str) -> Result<Value, RemoteError> {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, RemoteError> {
        self.call("POST", path, Some(body))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, RemoteError> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.server))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .map_err(|error| self.unreachable(&error))?,
            ),
            None => self
                .agent
                .run(request.body(()).map_err(|error| self.unreachable(&error))?),
        };
        let mut response = response.map_err(|error| self.unreachable(&error))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| self.unreachable(&error))?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(refusal(status, &value))
        }
    }

    /// Opens a server-sent event stream, resuming after `last_event_id` when given.
    pub fn events(&self, path: &str, last_event_id: Option<u64>) -> Result<Stream, RemoteError> {
        let mut request = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.server))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let request = request.body(()).map_err(|error| self.unreachable(&error))?;
        let mut response = self
            .agent
            .run(request)
            .map_err(|error| self.unreachable(&error))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(refusal(status, &value));
        }
        Ok(Box::new(response.into_body().into_reader()))
    }

    fn unreachable(&self, error: &impl std::fmt::Display) -> RemoteError {
        RemoteError::Unreachable {
            server: self.server.clone(),
            detail: error.to_string(),
        }
    }
}

/// An answer outside 2xx: the API's error code and message when it sent them.
fn refusal(status: u16, value: &Value) -> RemoteError {
    let code = value["error"]["code"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let message = value["error"]["message"]
        .as_str()
        .map_or_else(|| format!("the server answered {status}"), str::to_string);
    RemoteError::Api {
        status,
        code,
        message,
    }
}
