//! Pushing images from the local image store to a registry and pulling them back by digest,
//! with the OCI distribution API (v2) that every registry speaks: ECR, GitLab, Harbor, Docker
//! Hub, and Debian's `docker-registry`.
//!
//! Push checks each blob first (`HEAD`) and sends only what the registry lacks: mounted from
//! another repository of the same registry when the caller names one, otherwise uploaded in one
//! request, or in chunks when it is larger than [`RegistryOptions::chunk_size`]. The manifest goes
//! last, so a push that fails halfway leaves no tag pointing at missing blobs, and a second push
//! sends only what the first did not. Pull fetches a manifest (by digest when pinned) and every
//! blob the store lacks, and checks each digest: a registry cannot hand us other bytes.
//!
//! Authentication follows the registry's `401` challenge: basic auth, or a bearer token fetched
//! from the realm the challenge names with the credentials (Docker's token protocol). https is
//! the default; a registry with a private CA is given its certificate.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use upkeep_deploy::layout::ImageStore;
//! use upkeep_deploy::registry::{Registry, RegistryOptions, ImageReference};
//! let store = ImageStore::open_or_create("/var/lib/upkeep/images")?;
//! let image = store.resolve("shop:4f2a9c1")?;
//! let target: ImageReference = "registry.example.com/shop/app:4f2a9c1".parse()?;
//! let registry = Registry::connect(&target, &RegistryOptions::default())?;
//! let pushed = registry.push(&store, &image.manifest_digest, &target, None)?;
//! println!("pushed {}", pushed.reference);
//! # Ok(())
//! # }
//! ```

mod auth;
mod reference;

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ureq::http::Response;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use self::auth::Challenge;
pub use self::auth::Credentials;
pub use self::reference::{ImageReference, ReferenceError};
use crate::layout::{
    Descriptor, Digest, ImageIndex, ImageManifest, ImageStore, LayoutError, MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST, ResolvedImage, oci_architecture,
};

/// Docker's media types, which registries still serve for images built by Docker.
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Blobs up to this size are uploaded in one request; larger ones in chunks of this size.
pub const DEFAULT_CHUNK_SIZE: u64 = 32 * 1024 * 1024;

/// How to reach a registry.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub credentials: Option<Credentials>,
    /// A PEM file with the CA certificate(s) the registry's certificate is checked against,
    /// instead of the public roots.
    pub ca_certificate: Option<PathBuf>,
    /// Speak plain http (a registry on loopback without TLS). Never the default.
    pub plain_http: bool,
    pub chunk_size: u64,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            credentials: None,
            ca_certificate: None,
            plain_http: false,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

/// Where a build pushes its image: the repository (its tag is the build's) and how to reach it.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub repository: ImageReference,
    pub options: RegistryOptions,
}

/// What went wrong talking to a registry. Messages never contain credentials or tokens.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("cannot reach the registry {registry}: {reason}")]
    Unreachable { registry: String, reason: String },
    #[error("the registry {registry} refused {who} access to {repository}{detail}")]
    Unauthorized {
        registry: String,
        repository: String,
        /// "the credentials'" or "anonymous".
        who: &'static str,
        detail: String,
    },
    #[error("{method} {url}: the registry answered {status}{detail}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        detail: String,
    },
    #[error("the registry sent {what} whose digest is {actual}, not {expected}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("the registry's answer to {what} is not usable: {reason}")]
    BadAnswer { what: String, reason: String },
    #[error("the CA certificate {path}: {reason}", path = path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] LayoutError),
}

impl upkeep_hint::Hint for RegistryError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Reference(error) => error.hint(),
            Self::Unreachable { .. } => Some(
                "check that the registry runs and that `registry:` in upkeep.yml names its host and port; a registry with a private CA needs its certificate (`ca-certificate`)"
                    .to_string(),
            ),
            Self::Unauthorized { .. } => Some(
                "check the user name and password secrets that `registry:` in upkeep.yml names; for Amazon ECR the password is `aws ecr get-login-password`, valid 12 hours"
                    .to_string(),
            ),
            Self::Store(error) => error.hint(),
            _ => None,
        }
    }
}

/// How one blob reached the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The registry had it.
    Present,
    /// Mounted from another repository of the registry, without sending it.
    Mounted,
    /// Sent in this many requests.
    Uploaded { requests: u64 },
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The pushed image, tagged (when the target had a tag) and pinned to its manifest digest.
    pub reference: ImageReference,
    pub digest: Digest,
    /// Each blob (config first, then the layers) with what happened to it.
    pub blobs: Vec<(Digest, u64, BlobOutcome)>,
}

impl PushReport {
    /// Bytes sent in blob uploads.
    pub fn uploaded_bytes(&self) -> u64 {
        self.blobs
            .iter()
            .filter(|(_, _, outcome)| matches!(outcome, BlobOutcome::Uploaded { .. }))
            .map(|(_, size, _)| size)
            .sum()
    }
}

/// A connection to one registry.
pub struct Registry {
    agent: Agent,
    host: String,
    base: String,
    credentials: Option<Credentials>,
    chunk_size: u64,
    /// The `Authorization` value that last worked (basic or bearer), shared by requests.
    authorization: Mutex<Option<String>>,
}

impl Registry {
    /// A client for the registry of `reference`. Nothing is sent yet.
    pub fn connect(
        reference: &ImageReference,
        options: &RegistryOptions,
    ) -> Result<Self, RegistryError> {
        let mut config = Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(15)))
            // No overall timeout (a layer upload takes what it takes), but a stalled
            // connection is given up.
            .timeout_recv_body(Some(Duration::from_mins(5)))
            .timeout_send_body(Some(Duration::from_mins(5)));
        if let Some(path) = &options.ca_certificate {
            let certificate_error = |reason: String| RegistryError::Certificate {
                path: path.clone(),
                reason,
            };
            let pem = fs_err::read(path).map_err(|error| certificate_error(error.to_string()))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|error| certificate_error(format!("no PEM certificate: {error}")))?;
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::Specific(Arc::new(vec![certificate])))
                    .build(),
            );
        }
        let scheme = if options.plain_http { "http" } else { "https" };
        Ok(Self {
            agent: config.build().new_agent(),
            host: reference.registry.clone(),
            base: format!("{scheme}://{}", reference.registry),
            credentials: options.credentials.clone(),
            chunk_size: options.chunk_size.max(1),
            authorization: Mutex::new(None),
        })
    }

    /// Pushes the image whose manifest is `manifest` in `store` to `target` (its tag, or by
    /// digest when it has none). `mount_from` names another repository of the same registry
    /// that may hold the blobs already (the base image's), to mount instead of upload.
    pub fn push(
        &self,
        store: &ImageStore,
        manifest: &Digest,
        target: &ImageReference,
        mount_from: Option<&str>,
    ) -> Result<PushReport, RegistryError> {
        let manifest_bytes = store.read_blob(manifest)?;
        let parsed: ImageManifest =
            serde_json::from_slice(&manifest_bytes).map_err(|error| RegistryError::BadAnswer {
                what: format!("the manifest {manifest} in the image store"),
                reason: format!("it is not an image manifest: {error}"),
            })?;
        let repository = &target.repository;
        let mut blobs = Vec::new();
        for blob in std::iter::once(&parsed.config).chain(&parsed.layers) {
            let outcome = self.push_blob(store, repository, blob, mount_from)?;
            blobs.push((blob.digest.clone(), blob.size, outcome));
        }
        let media_type = parsed.media_type.as_deref().unwrap_or(MEDIA_TYPE_MANIFEST);
        let name = target.tag.clone().unwrap_or_else(|| manifest.to_string());
        let url = format!("{}/v2/{repository}/manifests/{name}", self.base);
        let response = self.send(repository, "PUT", &url, |request| {
            request
                .put(&url)
                .header("Content-Type", media_type)
                .send(&manifest_bytes[..])
        })?;
        let response = expect_status(response, &[201], "PUT", &url)?;
        if let Some(stored) = header(&response, "Docker-Content-Digest") {
            let stored: Digest = stored.parse().map_err(|_| RegistryError::BadAnswer {
                what: format!("PUT {url}"),
                reason: format!("`Docker-Content-Digest: {stored}` is not a digest"),
            })?;
            if &stored != manifest {
                return Err(RegistryError::DigestMismatch {
                    what: "the stored manifest".to_string(),
                    expected: manifest.clone(),
                    actual: stored,
                });
            }
        }
        Ok(PushReport {
            reference: target.with_digest(manifest.clone()),
            digest: manifest.clone(),
            blobs,
        })
    }

    fn push_blob(
        &self,
        store: &ImageStore,
        repository: &str,
        blob: &Descriptor,
        mount_from: Option<&str>,
    ) -> Result<BlobOutcome, RegistryError> {
        let digest = &blob.digest;
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let response = self.send(repository, "HEAD", &url, |request| {
            request.head(&url).call()
        })?;
        match response.status().as_u16() {
            200 => return Ok(BlobOutcome::Present),
            404 => {}
            _ => return Err(status_error(response, "HEAD", &url)),
        }
        let start = match mount_from {
            Some(from) if from != repository => format!(
                "{}/v2/{repository}/blobs/uploads/?mount={digest}&from={from}",
                self.base
            ),
            _ => format!("{}/v2/{repository}/blobs/uploads/", self.base),
        };
        let response = self.send(repository, "POST", &start, |request| {
            request.post(&start).send_empty()
        })?;
        if response.status().as_u16() == 201 && mount_from.is_some() {
            return Ok(BlobOutcome::Mounted);
        }
        let response = expect_status(response, &[202], "POST", &start)?;
        let mut location = self.location(&response, "POST", &start)?;
        let path = store.blob_path(digest);
        let mut requests = 1;
        if blob.size > self.chunk_size {
            let mut file = fs_err::File::open(&path).map_err(LayoutError::from)?;
            let mut offset = 0u64;
            while offset < blob.size {
                let length = self.chunk_size.min(blob.size - offset);
                let mut chunk = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
                (&mut file)
                    .take(length)
                    .read_to_end(&mut chunk)
                    .map_err(LayoutError::from)?;
                if chunk.len() as u64 != length {
                    return Err(LayoutError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{} is shorter than its descriptor says", path.display()),
                    ))
                    .into());
                }
                let range = format!("{offset}-{}", offset + length - 1);
                let response = self.send(repository, "PATCH", &location, |request| {
                    request
                        .patch(&location)
                        .header("Content-Type", "application/octet-stream")
                        .header("Content-Range", &range)
                        .send(&chunk[..])
                })?;
                let response = expect_status(response, &[202], "PATCH", &location)?;
                location = self.location(&response, "PATCH", &location)?;
                offset += length;
                requests += 1;
            }
            let finish = with_query(&location, &format!("digest={digest}"));
            let response = self.send(repository, "PUT", &finish, |request| {
                request.put(&finish).send_empty()
            })?;
            expect_status(response, &[201], "PUT", &finish)?;
        } else {
            let finish = with_query(&location, &format!("digest={digest}"));
            let response = self.send(repository, "PUT", &finish, |request| {
                let file = std::fs::File::open(&path).map_err(ureq::Error::Io)?;
                request
                    .put(&finish)
                    .header("Content-Type", "application/octet-stream")
                    .send(file)
            })?;
            expect_status(response, &[201], "PUT", &finish)?;
        }
        Ok(BlobOutcome::Uploaded {
            requests: requests + 1,
        })
    }

    /// Fetches the image `source` names (by digest when pinned) with every blob the store
    /// lacks, and resolves it in the store (a multi-platform index to this machine's image).
    pub fn pull(
        &self,
        store: &ImageStore,
        source: &ImageReference,
    ) -> Result<ResolvedImage, RegistryError> {
        let repository = &source.repository;
        let digest = self.pull_manifest(store, repository, &source.manifest_reference())?;
        if let Some(expected) = &source.digest
            && &digest != expected
        {
            return Err(RegistryError::DigestMismatch {
                what: format!("the manifest of {source}"),
                expected: expected.clone(),
                actual: digest,
            });
        }
        let bytes = store.read_blob(&digest)?;
        let manifest_digest = if is_index(&bytes) {
            let index: ImageIndex =
                serde_json::from_slice(&bytes).map_err(|error| RegistryError::BadAnswer {
                    what: format!("the index of {source}"),
                    reason: error.to_string(),
                })?;
            let architecture = oci_architecture();
            let chosen = index
                .manifests
                .iter()
                .find(|entry| {
                    let field = |name| {
                        entry
                            .other
                            .get("platform")
                            .and_then(|platform| platform.get(name))
                            .and_then(serde_json::Value::as_str)
                    };
                    field("os") == Some("linux") && field("architecture") == Some(architecture)
                })
                .ok_or_else(|| RegistryError::BadAnswer {
                    what: format!("the index of {source}"),
                    reason: format!("it has no image for linux/{architecture}"),
                })?;
            let child = chosen.digest.to_string();
            let fetched = self.pull_manifest(store, repository, &child)?;
            if fetched != chosen.digest {
                return Err(RegistryError::DigestMismatch {
                    what: format!("the linux/{architecture} manifest of {source}"),
                    expected: chosen.digest.clone(),
                    actual: fetched,
                });
            }
            fetched
        } else {
            digest.clone()
        };
        let manifest: ImageManifest = serde_json::from_slice(&store.read_blob(&manifest_digest)?)
            .map_err(|error| RegistryError::BadAnswer {
            what: format!("the manifest of {source}"),
            reason: error.to_string(),
        })?;
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if !store.has_blob(&blob.digest) {
                self.pull_blob(store, repository, &blob.digest)?;
            }
        }
        Ok(store.resolve(&digest.to_string())?)
    }

    /// Fetches a manifest or index into the store; its digest.
    fn pull_manifest(
        &self,
        store: &ImageStore,
        repository: &str,
        reference: &str,
    ) -> Result<Digest, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let accept = [
            MEDIA_TYPE_MANIFEST,
            MEDIA_TYPE_INDEX,
            DOCKER_MANIFEST,
            DOCKER_MANIFEST_LIST,
        ]
        .join(", ");
        let response = self.send(repository, "GET", &url, |request| {
            request.get(&url).header("Accept", &accept).call()
        })?;
        let response = expect_status(response, &[200], "GET", &url)?;
        let bytes = response
            .into_body()
            .with_config()
            .limit(4 * 1024 * 1024)
            .read_to_vec()
            .map_err(|error| RegistryError::BadAnswer {
                what: format!("GET {url}"),
                reason: error.to_string(),
            })?;
        let digest = Digest::of(&bytes);
        if let Ok(asked) = reference.parse::<Digest>()
            && asked != digest
        {
            return Err(RegistryError::DigestMismatch {
                what: format!("GET {url}"),
                expected: asked,
                actual: digest,
            });
        }
        store.put_blob(&bytes)?;
        Ok(digest)
    }

    /// Streams a blob into the store, checking its digest.
    fn pull_blob(
        &self,
        store: &ImageStore,
        repository: &str,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let response = self.send(repository, "GET", &url, |request| request.get(&url).call())?;
        let response = expect_status(response, &[200], "GET", &url)?;
        let mut writer = store.blob_writer()?;
        let mut body = response.into_body().into_reader();
        io::copy(&mut body, &mut writer).map_err(|error| {
            if error.kind() == io::ErrorKind::StorageFull {
                RegistryError::Store(LayoutError::Io(error))
            } else {
                RegistryError::Unreachable {
                    registry: self.host.clone(),
                    reason: format!("GET {url} broke off: {error}"),
                }
            }
        })?;
        let (actual, _) = writer.finish().map_err(LayoutError::from)?;
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("GET {url}"),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Sends a request built by `build` with the current authorization; on `401` meets the
    /// challenge (basic, or a bearer token for `repository`) and sends it once more.
    fn send(
        &self,
        repository: &str,
        method: &'static str,
        url: &str,
        build: impl Fn(&Authorized<'_>) -> Result<Response<Body>, ureq::Error>,
    ) -> Result<Response<Body>, RegistryError> {
        let current = self.current_authorization();
        let response = build(&Authorized {
            agent: &self.agent,
            authorization: current.as_deref(),
        })
        .map_err(|error| self.unreachable(method, url, &error))?;
        if response.status().as_u16() != 401 {
            return Ok(response);
        }
        let challenge = header(&response, "WWW-Authenticate").and_then(Challenge::parse);
        let fresh = match challenge {
            Some(challenge) => self.meet(&challenge, repository)?,
            None => None,
        };
        let Some(fresh) = fresh.filter(|fresh| Some(fresh) != current.as_ref()) else {
            return Err(self.unauthorized(repository, error_detail(response)));
        };
        *self
            .authorization
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fresh.clone());
        let response = build(&Authorized {
            agent: &self.agent,
            authorization: Some(&fresh),
        })
        .map_err(|error| self.unreachable(method, url, &error))?;
        if response.status().as_u16() == 401 {
            return Err(self.unauthorized(repository, error_detail(response)));
        }
        Ok(response)
    }

    fn current_authorization(&self) -> Option<String> {
        self.authorization
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The `Authorization` value that answers `challenge`; `None` when we have nothing to
    /// offer (basic auth without credentials).
    fn meet(
        &self,
        challenge: &Challenge,
        repository: &str,
    ) -> Result<Option<String>, RegistryError> {
        match challenge {
            Challenge::Basic => Ok(self.credentials.as_ref().map(Credentials::basic_header)),
            Challenge::Bearer { realm, parameters } => {
                let mut url = realm.clone();
                let mut query: Vec<(String, String)> = parameters
                    .iter()
                    .filter(|(key, _)| *key != "scope")
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect();
                // Ask for what a push and a pull need, whatever the challenge's scope was.
                query.push((
                    "scope".to_string(),
                    format!("repository:{repository}:pull,push"),
                ));
                for (position, (key, value)) in query.iter().enumerate() {
                    url.push(if position == 0 && !realm.contains('?') {
                        '?'
                    } else {
                        '&'
                    });
                    url.push_str(&encode(key));
                    url.push('=');
                    url.push_str(&encode(value));
                }
                let mut request = self.agent.get(&url);
                if let Some(credentials) = &self.credentials {
                    request = request.header("Authorization", &credentials.basic_header());
                }
                let response = request
                    .call()
                    .map_err(|error| self.unreachable("GET", realm, &error))?;
                match response.status().as_u16() {
                    200 => {}
                    401 | 403 => {
                        return Err(self.unauthorized(repository, error_detail(response)));
                    }
                    _ => return Err(status_error(response, "GET", realm)),
                }
                let body: serde_json::Value =
                    read_json(response, 1024 * 1024).map_err(|error| RegistryError::BadAnswer {
                        what: format!("the token from {realm}"),
                        reason: error,
                    })?;
                let token = body
                    .get("token")
                    .or_else(|| body.get("access_token"))
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| RegistryError::BadAnswer {
                        what: format!("the token from {realm}"),
                        reason: "it has no `token`".to_string(),
                    })?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    fn unauthorized(&self, repository: &str, detail: String) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.host.clone(),
            repository: repository.to_string(),
            who: if self.credentials.is_some() {
                "the credentials'"
            } else {
                "anonymous"
            },
            detail,
        }
    }

    fn unreachable(&self, method: &str, url: &str, error: &ureq::Error) -> RegistryError {
        RegistryError::Unreachable {
            registry: self.host.clone(),
            reason: format!("{method} {url}: {error}"),
        }
    }

    /// The upload location a response names, made absolute.
    fn location(
        &self,
        response: &Response<Body>,
        method: &'static str,
        url: &str,
    ) -> Result<String, RegistryError> {
        let location = header(response, "Location").ok_or_else(|| RegistryError::BadAnswer {
            what: format!("{method} {url}"),
            reason: "it has no `Location` to upload to".to_string(),
        })?;
        Ok(
            if location.starts_with("http://") || location.starts_with("https://") {
                location.to_string()
            } else {
                format!("{}/{}", self.base, location.trim_start_matches('/'))
            },
        )
    }
}

/// The agent and the `Authorization` header a request is built with.
struct Authorized<'a> {
    agent: &'a Agent,
    authorization: Option<&'a str>,
}

impl Authorized<'_> {
    fn with<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    fn head(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        self.with(self.agent.head(url))
    }

    fn get(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        self.with(self.agent.get(url))
    }

    fn post(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.with(self.agent.post(url))
    }

    fn put(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.with(self.agent.put(url))
    }

    fn patch(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.with(self.agent.patch(url))
    }
}

fn is_index(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|value| value.get("manifests").is_some())
}

fn header<'r>(response: &'r Response<Body>, name: &str) -> Option<&'r str> {
    response.headers().get(name)?.to_str().ok()
}

fn with_query(url: &str, pair: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{pair}")
}

fn expect_status(
    response: Response<Body>,
    expected: &[u16],
    method: &'static str,
    url: &str,
) -> Result<Response<Body>, RegistryError> {
    if expected.contains(&response.status().as_u16()) {
        Ok(response)
    } else {
        Err(status_error(response, method, url))
    }
}

fn status_error(response: Response<Body>, method: &'static str, url: &str) -> RegistryError {
    let status = response.status().as_u16();
    RegistryError::Status {
        method,
        url: url.to_string(),
        status,
        detail: error_detail(response),
    }
}

/// A JSON answer of at most `limit` bytes.
fn read_json(response: Response<Body>, limit: u64) -> Result<serde_json::Value, String> {
    let bytes = response
        .into_body()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|error| error.to_string())?;
    serde_json::from_slice(&bytes).map_err(|error| error.to_string())
}

/// `: CODE message` from the registry's `{"errors": [...]}` body, or nothing.
fn error_detail(response: Response<Body>) -> String {
    let Ok(body) = read_json(response, 64 * 1024) else {
        return String::new();
    };
    let errors: Vec<String> = body
        .get("errors")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|error| {
            let field = |name| {
                error
                    .get(name)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
            };
            format!("{} {}", field("code"), field("message"))
                .trim()
                .to_string()
        })
        .collect();
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", errors.join("; "))
    }
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters pass).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
