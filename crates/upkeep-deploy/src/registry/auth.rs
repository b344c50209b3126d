//! Registry authentication: the `WWW-Authenticate` challenge a registry answers `401` with,
//! and the credentials we meet it with (basic auth, or a bearer token fetched from the realm the
//! challenge names, as Docker Hub, GitLab, Harbor and `docker-registry` with token auth do).

use std::collections::BTreeMap;
use std::fmt;

/// A user name and password (or an access token used as the password, as ECR's
/// `aws ecr get-login-password` gives). `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl Credentials {
    /// The `Authorization` header value of basic auth.
    pub(super) fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!("Basic {}", base64(pair.as_bytes()))
    }

    /// The `auth` value of an entry of a containers auth file (`auth.json`, as `podman login`
    /// writes it): base64 of `user:password`.
    pub(crate) fn auth_file_value(&self) -> String {
        base64(format!("{}:{}", self.username, self.password).as_bytes())
    }
}

/// What a registry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    Basic,
    /// Fetch a token from `realm` with these query parameters (`service`, `scope`).
    Bearer {
        realm: String,
        parameters: BTreeMap<String, String>,
    },
}

impl Challenge {
    /// Reads a `WWW-Authenticate` value: `Basic realm="…"` or
    /// `Bearer realm="https://auth.example.com/token",service="registry",scope="repository:app:pull"`.
    pub(super) fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Self::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut parameters = parameters(rest);
        let realm = parameters.remove("realm")?;
        Some(Self::Bearer { realm, parameters })
    }
}

/// `key="value",key=value` pairs; quoted values may contain commas and `\"`.
fn parameters(text: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return found;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        found.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().enumerate().fold(0u32, |value, (i, byte)| {
            value | u32::from(*byte) << (16 - 8 * i)
        });
        for position in 0..4 {
            if position <= chunk.len() {
                let index = (value >> (18 - 6 * position)) & 0x3f;
                encoded.push(char::from(ALPHABET[index as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::{Challenge, Credentials, base64};

    #[test]
    fn reads_bearer_and_basic_challenges() {
        let challenge = Challenge::parse(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:shop/app:pull,push""#,
        )
        .unwrap();
        let Challenge::Bearer { realm, parameters } = challenge else {
            panic!("not bearer");
        };
        assert_eq!(realm, "https://auth.example.com/token");
        assert_eq!(parameters["service"], "registry.example.com");
        assert_eq!(parameters["scope"], "repository:shop/app:pull,push");
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None);
    }

    #[test]
    fn basic_auth_is_base64_and_debug_hides_the_password() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        let credentials = Credentials {
            username: "ci".to_string(),
            password: "s3cret".to_string(),
        };
        assert_eq!(credentials.basic_header(), "Basic Y2k6czNjcmV0");
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }
}
