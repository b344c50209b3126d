//! Composer repositories: where the versions of a project's packages come from.
//!
//! [`RepositorySet`] reads the `repositories` of `composer.json` (plus the implicit Packagist) and
//! answers "which versions of these packages exist?" for many packages at once, with a bounded pool
//! of threads sharing one keep-alive HTTP agent and a disk cache with HTTP validators. Supported:
//! `composer` repositories in all three layouts (protocol 2 `metadata-url` as Packagist serves it,
//! protocol 1 `providers`, inline `packages` as Satis writes them) over `http(s)://` and `file://`,
//! `path` repositories and inline `package` repositories. `vcs`-type repositories would need a
//! clone per package; they are reported as warnings and skipped.
//!
//! As in Composer, repositories are canonical: the first repository that has a package is the
//! only one asked for it, unless it is marked `"canonical": false`.
//!
//! ```no_run
//! use std::path::Path;
//! use upkeep_composer::ComposerJson;
//! use upkeep_composer::repository::{RepositoryOptions, RepositorySet};
//!
//! let manifest = ComposerJson::from_path(Path::new("composer.json"))?;
//! let set = RepositorySet::from_project(Path::new("."), &manifest, &RepositoryOptions::default())?;
//! let report = set.fetch(&["symfony/console".to_owned()])?;
//! for version in &report.versions["symfony/console"] {
//!     println!("{} {}", version.version.pretty(), version.version.normalized());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auth;
mod composer_repo;
mod definition;
mod download;
mod http_cache;
mod metadata;
mod metadata_file;
mod parsed_copy;
mod path_repo;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{Map, Value};

pub use auth::{AuthConfig, AuthError, composer_home};
pub use definition::PACKAGIST_URL;
pub use download::{Download, DownloadOptions, DownloadOrigin, download, url_without_credentials};
pub use http_cache::{FetchError, FetchStats};
pub use metadata::{Links, PackageVersion, Source};

use composer_repo::ComposerRepository;
use definition::{PackageFilter, RepositoryKind, read_repositories};
use http_cache::{FetchPolicy, Fetcher};

use crate::ComposerJson;

/// How a [`RepositorySet`] fetches.
#[derive(Debug, Clone)]
pub struct RepositoryOptions {
    /// Where HTTP responses are cached; `None` turns the disk cache off.
    pub cache_dir: Option<PathBuf>,
    /// Credentials; `None` reads them as Composer does ([`AuthConfig::from_environment`]).
    pub auth: Option<AuthConfig>,
    /// Send no requests: use cached documents whatever their age, and report the others as
    /// missing. `file://` and `path` repositories are read as usual.
    pub offline: bool,
    /// Cached documents younger than this are used without asking the server. `0` (the default)
    /// always revalidates, which costs one conditional request per document.
    pub max_age: Duration,
    /// Requests in flight at most. Offline, at most one thread per core reads the cache.
    pub concurrency: usize,
    /// Also fetch the dev-branch files of protocol 2 repositories (`<name>~dev.json`). Composer
    /// does so when the project's stability allows dev versions of the package.
    pub include_dev_branches: bool,
    /// Limit for each phase of a request: connecting (TLS included), sending it, waiting for
    /// the response, reading the body. Resolving host names is left to the system resolver.
    pub timeout: Duration,
    /// Largest response body accepted, counted after decompression (a 1 MB gzip body can
    /// decode to gigabytes). A larger one is an error naming its URL and is not cached.
    pub max_body_bytes: u64,
}

/// The default of [`RepositoryOptions::max_body_bytes`]: Packagist's largest metadata files
/// are a few MB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

impl Default for RepositoryOptions {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            auth: None,
            offline: false,
            max_age: Duration::ZERO,
            concurrency: 16,
            include_dev_branches: false,
            timeout: Duration::from_mins(1),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// `$XDG_CACHE_HOME/upkeep/composer`, or `~/.cache/upkeep/composer`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("upkeep").join("composer"))
}

/// A repository could not be read, or a package's metadata could not be had from it.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("{position} in composer.json: {message}")]
    InvalidDefinition { position: String, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("path repository `{url}`: {} does not exist", resolved.display())]
    PathNotFound { url: String, resolved: PathBuf },
    #[error("path repository `{url}`: {}: {message}", path.display())]
    InvalidPathPackage {
        url: String,
        path: PathBuf,
        message: String,
    },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("repository {repository}: cannot fetch {url}: {source}")]
    Fetch {
        repository: String,
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("repository {repository}: {url} is not valid JSON: {message}")]
    InvalidJson {
        repository: String,
        url: String,
        message: String,
    },
    #[error("repository {repository}: {url}: {message}")]
    InvalidMetadata {
        repository: String,
        url: String,
        message: String,
    },
    #[error(
        "repository {repository}: the contents of {url} do not match their sha256 {expected} (got {actual})"
    )]
    ChecksumMismatch {
        repository: String,
        url: String,
        expected: String,
        actual: String,
    },
    /// A per-package problem, raised by [`RepositorySet::versions_of`].
    #[error("{package}: {source}")]
    Package {
        package: String,
        #[source]
        source: Box<RepositoryError>,
    },
}

impl upkeep_hint::Hint for RepositoryError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Fetch { source, .. } => source.hint(),
            Self::Package { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// The versions of the requested packages, and what went wrong for some of them.
#[derive(Debug, Default)]
pub struct FetchReport {
    /// Every requested name, in the order requested, with the versions in repository order; empty
    /// when no repository has the package (or it is a platform package such as `php`).
    pub versions: IndexMap<String, Vec<PackageVersion>>,
    /// Packages whose metadata could not be had from a repository that may have them. Later
    /// repositories are not asked for these: their answer could be the wrong package.
    pub problems: Vec<PackageProblem>,
    /// Versions left out because their metadata is unreadable, and skipped repositories.
    pub warnings: Vec<String>,
}

/// One package whose metadata could not be had.
#[derive(Debug, thiserror::Error)]
#[error("{package}: {error}")]
pub struct PackageProblem {
    pub package: String,
    pub error: RepositoryError,
}

impl upkeep_hint::Hint for PackageProblem {
    fn hint(&self) -> Option<String> {
        self.error.hint()
    }
}

/// The versions one repository has of one package.
#[derive(Debug, Default, Clone)]
pub(crate) struct Found {
    pub(crate) versions: Vec<PackageVersion>,
    /// Entries left out, described.
    pub(crate) invalid: Vec<String>,
}

impl Found {
    pub(crate) fn extend(&mut self, other: Found) {
        append(&mut self.versions, other.versions);
        self.invalid.extend(other.invalid);
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            versions: Vec::with_capacity(capacity),
            invalid: Vec::new(),
        }
    }

    /// Reads one version entry of the package `name` (lowercase); an entry of another package
    /// (which protocol 1 files may hold) is skipped.
    fn push_entry(&mut self, fields: &Map<String, Value>, name: &str) {
        if let Some(entry_name) = fields.get("name").and_then(Value::as_str)
            && !entry_name.eq_ignore_ascii_case(name)
        {
            return;
        }
        self.push(PackageVersion::from_fields(fields, name));
    }

    pub(crate) fn push(&mut self, read: Result<PackageVersion, metadata::InvalidVersionEntry>) {
        match read {
            Ok(version) => self.versions.push(version),
            Err(problem) => self.invalid.push(match problem.version {
                Some(version) => format!("version `{version}`: {}", problem.reason),
                None => problem.reason,
            }),
        }
    }
}

/// Appends `more` to `versions`, taking `more` whole when `versions` is empty (the usual case:
/// one file, one repository) rather than copying tens of thousands of versions over.
fn append(versions: &mut Vec<PackageVersion>, mut more: Vec<PackageVersion>) {
    if versions.is_empty() {
        *versions = more;
    } else {
        versions.append(&mut more);
    }
}

/// Reads version entries of the package `name` (lowercase); entries of other packages (which
/// protocol 1 files may hold) are skipped.
pub(crate) fn read_entries<'a>(entries: impl IntoIterator<Item = &'a Value>, name: &str) -> Found {
    let entries = entries.into_iter();
    let mut found = Found::with_capacity(entries.size_hint().0);
    for entry in entries {
        match entry {
            Value::Object(fields) => found.push_entry(fields, name),
            other => found.push(PackageVersion::from_metadata(other, name)),
        }
    }
    found
}

/// Reads a version list minified by Composer 2 ([`metadata::MinifiedList`]) of the package `name`
/// (lowercase): the plain reading on `Value`, which [`metadata_file`] must match.
#[cfg(test)]
pub(crate) fn read_minified(entries: Vec<Value>, name: &str) -> Found {
    let mut found = Found::with_capacity(entries.len());
    let mut list = metadata::MinifiedList::default();
    for entry in entries {
        match entry {
            Value::Object(changes) => found.push_entry(list.apply(changes), name),
            // Not a version object: reading it reports the problem.
            other => found.push(PackageVersion::from_metadata(&other, name)),
        }
    }
    found
}

/// A repository of the set, with its filter.
struct ConfiguredRepository {
    description: String,
    filter: PackageFilter,
    source: RepositorySource,
}

enum RepositorySource {
    Composer(Box<ComposerRepository>),
    /// Path and `package` repositories, read when the set is built.
    Listed(IndexMap<String, Found>),
}

impl ConfiguredRepository {
    fn lookup(
        &self,
        fetcher: &Fetcher,
        name: &str,
        include_dev_branches: bool,
    ) -> Result<Option<Found>, RepositoryError> {
        match &self.source {
            RepositorySource::Composer(repository) => {
                repository.lookup(fetcher, name, include_dev_branches)
            }
            RepositorySource::Listed(packages) => Ok(packages.get(name).cloned()),
        }
    }
}

/// The repositories of a project, ready to be asked for package versions.
pub struct RepositorySet {
    repositories: Vec<ConfiguredRepository>,
    fetcher: Fetcher,
    warnings: Vec<String>,
    concurrency: usize,
    include_dev_branches: bool,
}

impl std::fmt::Debug for RepositorySet {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RepositorySet")
            .field("repositories", &self.descriptions())
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl RepositorySet {
    /// The repositories of the project in `project_dir` described by `manifest`.
    ///
    /// Path and `package` repositories are read now; `composer` repositories on the first fetch.
    pub fn from_project(
        project_dir: &Path,
        manifest: &ComposerJson,
        options: &RepositoryOptions,
    ) -> Result<Self, RepositoryError> {
        Self::from_manifest_value(project_dir, &manifest.raw, options)
    }

    /// As [`RepositorySet::from_project`], from the `composer.json` document as JSON.
    pub fn from_manifest_value(
        project_dir: &Path,
        manifest: &Value,
        options: &RepositoryOptions,
    ) -> Result<Self, RepositoryError> {
        let list = read_repositories(manifest.get("repositories"))?;
        let mut auth = match &options.auth {
            Some(auth) => auth.clone(),
            None => AuthConfig::from_environment(project_dir, manifest)?,
        };
        let mut repositories = Vec::with_capacity(list.repositories.len());
        for definition in list.repositories {
            let (description, source) = match definition.kind {
                RepositoryKind::Composer { url } => {
                    let url = take_credentials(&url, &mut auth);
                    (
                        format!("composer repository {url}"),
                        RepositorySource::Composer(Box::new(ComposerRepository::new(url))),
                    )
                }
                RepositoryKind::Path { url, options } => {
                    let packages = path_repo::load_path_repository(project_dir, &url, &options)?;
                    (
                        format!("path repository {url}"),
                        RepositorySource::Listed(packages),
                    )
                }
                RepositoryKind::Package { packages } => (
                    format!("package repository ({})", definition.position),
                    RepositorySource::Listed(inline_packages(&packages, &definition.position)?),
                ),
            };
            repositories.push(ConfiguredRepository {
                description,
                filter: definition.filter,
                source,
            });
        }
        let policy = FetchPolicy {
            cache_dir: options.cache_dir.clone(),
            offline: options.offline,
            max_age: options.max_age,
            timeout: options.timeout,
            max_connections: options.concurrency,
            max_body_bytes: options.max_body_bytes,
        };
        Ok(Self {
            repositories,
            fetcher: Fetcher::new(&policy, auth),
            warnings: list.warnings,
            concurrency: workers(options),
            include_dev_branches: options.include_dev_branches,
        })
    }

    /// The repositories in the order they are asked, e.g. `composer repository https://repo.packagist.org`.
    pub fn descriptions(&self) -> Vec<String> {
        self.repositories
            .iter()
            .map(|repository| repository.description.clone())
            .collect()
    }

    /// Repositories left out (`vcs`, unknown types), as messages.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What fetching has done so far.
    pub fn stats(&self) -> FetchStats {
        self.fetcher.stats()
    }

    /// The versions of `names`, fetched concurrently.
    ///
    /// An error means a repository as a whole is unusable (its `packages.json` cannot be had);
    /// a failure for one package is a [`PackageProblem`] in the report.
    pub fn fetch(&self, names: &[String]) -> Result<FetchReport, RepositoryError> {
        let lowercase: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
        self.load_roots(&lowercase)?;

        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<PackageResult>>> =
            Mutex::new((0..names.len()).map(|_| None).collect());
        let workers = self.concurrency.min(names.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(name) = lowercase.get(index) else {
                            break;
                        };
                        let result = self.lookup(name);
                        if let Ok(mut results) = results.lock() {
                            results[index] = Some(result);
                        }
                    }
                });
            }
        });
        let results = results
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);

        let mut report = FetchReport {
            warnings: self.warnings.clone(),
            ..FetchReport::default()
        };
        for (name, result) in names.iter().zip(results) {
            let result = result.unwrap_or_default();
            for warning in result.warnings {
                report.warnings.push(format!("{name}: {warning}"));
            }
            if let Some(error) = result.error {
                report.problems.push(PackageProblem {
                    package: name.clone(),
                    error,
                });
            }
            report.versions.insert(name.clone(), result.versions);
        }
        Ok(report)
    }

    /// The versions of `names`, failing on the first package whose metadata could not be had.
    /// [`RepositorySet::fetch`] reports such packages and goes on instead.
    pub fn versions_of(
        &self,
        names: &[String],
    ) -> Result<IndexMap<String, Vec<PackageVersion>>, RepositoryError> {
        let report = self.fetch(names)?;
        if let Some(problem) = report.problems.into_iter().next() {
            return Err(RepositoryError::Package {
                package: problem.package,
                source: Box::new(problem.error),
            });
        }
        Ok(report.versions)
    }

    /// Reads the root documents of the `composer` repositories that may have one of `names`,
    /// concurrently.
    fn load_roots(&self, names: &[String]) -> Result<(), RepositoryError> {
        let needed: Vec<&ComposerRepository> = self
            .repositories
            .iter()
            .filter(|repository| {
                names
                    .iter()
                    .any(|name| name.contains('/') && repository.filter.allows(name))
            })
            .filter_map(|repository| match &repository.source {
                RepositorySource::Composer(composer) => Some(&**composer),
                RepositorySource::Listed(_) => None,
            })
            .collect();
        let results: Vec<Result<(), RepositoryError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = needed
                .iter()
                .map(|repository| scope.spawn(|| repository.load_root(&self.fetcher)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(RepositoryError::InvalidMetadata {
                            repository: String::new(),
                            url: String::new(),
                            message: "reading the repository panicked".to_owned(),
                        })
                    })
                })
                .collect()
        });
        results.into_iter().collect()
    }

    /// Asks the repositories in order until a canonical one has the package.
    fn lookup(&self, name: &str) -> PackageResult {
        let mut result = PackageResult::default();
        // Platform packages (`php`, `ext-json`) have no slash and live in no repository.
        if !name.contains('/') {
            return result;
        }
        for repository in &self.repositories {
            if !repository.filter.allows(name) {
                continue;
            }
            match repository.lookup(&self.fetcher, name, self.include_dev_branches) {
                Ok(None) => {}
                Ok(Some(found)) => {
                    for invalid in found.invalid {
                        result
                            .warnings
                            .push(format!("{}: left out {invalid}", repository.description));
                    }
                    append(&mut result.versions, found.versions);
                    if !repository.filter.non_canonical {
                        break;
                    }
                }
                Err(error) => {
                    result.error = Some(error);
                    break;
                }
            }
        }
        result
    }
}

#[derive(Default)]
struct PackageResult {
    versions: Vec<PackageVersion>,
    warnings: Vec<String>,
    error: Option<RepositoryError>,
}

/// Threads that fetch: one per request in flight; offline, when nothing waits for the network,
/// one per core, since more threads only contend for the cores (and spread what they decode over
/// more allocator heaps).
fn workers(options: &RepositoryOptions) -> usize {
    let requests = options.concurrency.max(1);
    if options.offline {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        requests.min(cores)
    } else {
        requests
    }
}

/// Moves `user:password@` out of a repository URL into `http-basic` credentials for its host, as
/// Composer does, so that the URL can be shown.
fn take_credentials(url: &str, auth: &mut AuthConfig) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((credentials, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let (username, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    auth.insert_http_basic(host, username, password);
    format!("{scheme}://{host}{path}")
}

/// `type: package`: one version object or a list of them.
fn inline_packages(
    packages: &Value,
    position: &str,
) -> Result<IndexMap<String, Found>, RepositoryError> {
    let entries: Vec<&Value> = match packages {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut listed: IndexMap<String, Found> = IndexMap::new();
    for entry in entries {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            return Err(RepositoryError::InvalidDefinition {
                position: position.to_owned(),
                message: "every `package` needs a `name`".to_owned(),
            });
        };
        let name = name.to_lowercase();
        let version = PackageVersion::from_metadata(entry, &name).map_err(|problem| {
            RepositoryError::InvalidDefinition {
                position: position.to_owned(),
                message: format!("package `{name}`: {}", problem.reason),
            }
        })?;
        listed.entry(name).or_default().versions.push(version);
    }
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options() -> RepositoryOptions {
        RepositoryOptions {
            cache_dir: None,
            auth: Some(AuthConfig::default()),
            ..RepositoryOptions::default()
        }
    }

    #[test]
    fn inline_packages_and_canonical_order() {
        let manifest = json!({"repositories": [
            {"type": "package", "package": [
                {"name": "acme/widget", "version": "1.0.0"},
                {"name": "acme/widget", "version": "1.1.0"}
            ]},
            {"type": "package", "package": {"name": "acme/widget", "version": "9.0.0"}},
            {"type": "package", "canonical": false, "package": {"name": "acme/tool", "version": "1.0.0"}},
            {"type": "package", "package": {"name": "acme/tool", "version": "2.0.0"}},
            {"packagist.org": false}
        ]});
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let set = RepositorySet::from_manifest_value(project.path(), &manifest, &options())
            .unwrap_or_else(|error| panic!("{error}"));
        let names = ["Acme/Widget", "acme/tool", "php", "acme/missing"].map(str::to_owned);
        let report = set.fetch(&names).unwrap_or_else(|error| panic!("{error}"));
        let versions = |name: &str| -> Vec<&str> {
            report.versions[name]
                .iter()
                .map(|version| version.version.pretty())
                .collect()
        };
        // The first repository with the package wins; a non-canonical one lets later ones add.
        assert_eq!(versions("Acme/Widget"), ["1.0.0", "1.1.0"]);
        assert_eq!(versions("acme/tool"), ["1.0.0", "2.0.0"]);
        assert!(versions("php").is_empty());
        assert!(versions("acme/missing").is_empty());
        assert!(report.problems.is_empty());
        assert_eq!(set.stats(), FetchStats::default());
    }

    #[test]
    fn credentials_in_urls_move_to_auth() {
        let mut auth = AuthConfig::default();
        let url = take_credentials("https://ann:pw@repo.test/sub", &mut auth);
        assert_eq!(url, "https://repo.test/sub");
        assert_eq!(format!("{auth:?}"), r#"{"repo.test": "http-basic: ***"}"#);
        assert_eq!(
            take_credentials("https://repo.test/a@b", &mut AuthConfig::default()),
            "https://repo.test/a@b"
        );
    }

    #[test]
    fn invalid_inline_packages_are_errors() {
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let manifest =
            json!({"repositories": [{"type": "package", "package": {"version": "1.0.0"}}]});
        let error = RepositorySet::from_manifest_value(project.path(), &manifest, &options())
            .expect_err("no name");
        assert_eq!(
            error.to_string(),
            "repositories[0] in composer.json: every `package` needs a `name`"
        );
    }
}
