//! Image references as people write them: `registry.example.com:5000/shop/app:4f2a9c1`,
//! optionally pinned with `@sha256:…`.

use std::fmt;
use std::str::FromStr;

use crate::layout::Digest;

/// Where an image lives in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// `host` or `host:port`.
    pub registry: String,
    /// `shop/app`: lower-case path components.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// A reference that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not an image reference: {reason}")]
pub struct ReferenceError {
    pub value: String,
    pub reason: String,
}

impl upkeep_hint::Hint for ReferenceError {
    fn hint(&self) -> Option<String> {
        Some(
            "write it as REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], e.g. `registry.example.com:5000/shop/app:latest` or `123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop`"
                .to_string(),
        )
    }
}

impl ImageReference {
    /// The same repository with another tag (and no digest).
    #[must_use]
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository pinned to `digest`.
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// What a manifest is fetched by: the digest when pinned, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

impl FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| ReferenceError {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let (rest, digest) = match value.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(
                    digest
                        .parse::<Digest>()
                        .map_err(|problem| error(&problem.to_string()))?,
                ),
            ),
            None => (value, None),
        };
        let Some((registry, path)) = rest.split_once('/') else {
            return Err(error("it names no registry host"));
        };
        // Docker's rule: the first component is a registry when it has a dot or a port, or is
        // `localhost`. Upkeep never guesses Docker Hub.
        let is_host = registry.contains(['.', ':']) || registry == "localhost";
        if !is_host {
            return Err(error(&format!(
                "`{registry}` is not a registry host (it needs a dot or a port, or is `localhost`)"
            )));
        }
        // A colon after the last slash starts the tag.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        if repository.is_empty() {
            return Err(error("the repository is empty"));
        }
        for component in repository.split('/') {
            let valid = !component.is_empty()
                && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && component
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            if !valid {
                return Err(error(&format!(
                    "the repository component `{component}` must be lower-case letters, digits and `._-`"
                )));
            }
        }
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !valid {
                return Err(error(&format!(
                    "the tag `{tag}` must be up to 128 letters, digits and `._-`"
                )));
            }
        }
        Ok(Self {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ImageReference;

    #[test]
    fn parses_hosts_ports_tags_and_digests() {
        let reference: ImageReference = "127.0.0.1:5000/shop/app:4f2a9c1".parse().unwrap();
        assert_eq!(reference.registry, "127.0.0.1:5000");
        assert_eq!(reference.repository, "shop/app");
        assert_eq!(reference.tag.as_deref(), Some("4f2a9c1"));
        assert_eq!(reference.to_string(), "127.0.0.1:5000/shop/app:4f2a9c1");

        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned: ImageReference = format!("registry.example.com/app@{digest}")
            .parse()
            .unwrap();
        assert_eq!(pinned.tag, None);
        assert_eq!(pinned.manifest_reference(), digest);

        let plain: ImageReference = "localhost/app".parse().unwrap();
        assert_eq!(plain.manifest_reference(), "latest");
    }

    #[test]
    fn refuses_what_a_registry_would_refuse() {
        for (value, reason) in [
            ("shop/app:1", "is not a registry host"),
            ("app", "names no registry host"),
            ("r.example.com/Shop:1", "must be lower-case"),
            ("r.example.com/shop:-x", "the tag `-x`"),
            ("r.example.com/shop@sha256:zz", "is not a digest"),
            ("r.example.com/", "the repository is empty"),
        ] {
            let error = value.parse::<ImageReference>().unwrap_err();
            assert!(error.to_string().contains(reason), "{value}: {error}");
        }
    }
}
