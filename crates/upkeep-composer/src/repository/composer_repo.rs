//! `type: composer` repositories, Packagist among them: the root `packages.json` and the three
//! ways it can lead to a package's versions, decided as Composer's `ComposerRepository` decides:
//!
//! - `metadata-url` (protocol 2, Packagist): one file per package, `%package%.json` and
//!   `%package%~dev.json` for dev branches, minified lists expanded; `available-packages` and
//!   `available-package-patterns` say which names exist so that others need no request;
//! - `providers-url` with `providers` / `provider-includes` (protocol 1): per-package files named by
//!   their SHA-256, which is checked; `providers-lazy-url` for names not listed;
//! - inline `packages` (and `includes`) in the root document, as Satis writes them.
//!
//! URLs starting with `/` in the root document are relative to the repository's host, as in
//! Composer; other relative URLs (which Composer would not resolve) are taken relative to the
//! repository URL.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value;

use super::http_cache::{Body, FetchError, Fetcher, Freshness, hex_sha256};
use super::metadata::NamePattern;
use super::metadata_file::{self, FileVersions};
use super::parsed_copy::{self, CopyKey, NotACopy};
use super::{Found, RepositoryError, read_entries};

/// Nested `includes` / `provider-includes` deeper than this are not followed.
const MAX_INCLUDE_DEPTH: usize = 8;

pub(crate) struct ComposerRepository {
    /// As configured, without a trailing slash.
    url: String,
    /// `url` without a trailing `/<file>.json`, query or fragment.
    base_url: String,
    root: OnceLock<RootIndex>,
}

/// Why a metadata file could not be read.
enum Unreadable {
    /// The body is damaged (unreadable, not what its digest says, not JSON): a cached copy of it
    /// is worth fetching again.
    Corrupt(RepositoryError),
    /// The body is JSON but not metadata as Composer writes it.
    Invalid(RepositoryError),
}

/// What the root document says about where packages are.
enum RootIndex {
    /// Every package is in the root document and its includes.
    Complete {
        packages: HashMap<String, Vec<Value>>,
    },
    /// Packages are loaded one by one.
    PerPackage(PerPackageIndex),
}

struct PerPackageIndex {
    /// Protocol 2 `metadata-url`, with `%package%`.
    metadata_url: Option<String>,
    /// Protocol 1 `providers-lazy-url`, with `%package%`.
    providers_lazy_url: Option<String>,
    /// Protocol 1 `providers-url`, with `%package%` and `%hash%`.
    providers_url: Option<String>,
    /// Protocol 1 provider listing: name to SHA-256 of its file.
    provider_listing: HashMap<String, String>,
    has_providers: bool,
    /// Versions given in the root document itself, by lowercase name.
    partial: HashMap<String, Vec<Value>>,
    /// `available-packages` and `available-package-patterns`, when the repository gives them.
    available: Option<AvailablePackages>,
}

struct AvailablePackages {
    names: HashSet<String>,
    patterns: Vec<NamePattern>,
}

impl AvailablePackages {
    fn contains(&self, name: &str) -> bool {
        self.names.contains(name) || self.patterns.iter().any(|pattern| pattern.matches(name))
    }
}

impl ComposerRepository {
    pub(crate) fn new(url: String) -> Self {
        let base_url = base_url(&url);
        Self {
            url,
            base_url,
            root: OnceLock::new(),
        }
    }

    fn packages_json_url(&self) -> String {
        let path = self.url.split_once("://").map_or("", |(_, rest)| rest);
        if path.contains(".json") {
            self.url.clone()
        } else {
            format!("{}/packages.json", self.url)
        }
    }

    /// Reads the root document once; later calls do nothing.
    pub(crate) fn load_root(&self, fetcher: &Fetcher) -> Result<(), RepositoryError> {
        if self.root.get().is_some() {
            return Ok(());
        }
        let url = self.packages_json_url();
        let data = self.fetch_existing_json(fetcher, &url, Freshness::Revalidate, None)?;
        let index = self.index_root(fetcher, data)?;
        // Another thread may have won the race; both read the same document.
        let _ = self.root.set(index);
        Ok(())
    }

    fn index_root(&self, fetcher: &Fetcher, mut data: Value) -> Result<RootIndex, RepositoryError> {
        let text = |data: &Value, key: &str| {
            data.get(key)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
                .map(|text| self.canonical_url(text))
        };
        let metadata_url = text(&data, "metadata-url");
        let providers_lazy_url = text(&data, "providers-lazy-url");
        let is_lazy = metadata_url.is_some() || providers_lazy_url.is_some();
        let has_partial = is_lazy && non_empty(data.get("packages"));

        let mut index = PerPackageIndex {
            providers_url: None,
            provider_listing: HashMap::new(),
            has_providers: false,
            partial: HashMap::new(),
            available: None,
            metadata_url: None,
            providers_lazy_url: None,
        };
        if metadata_url.is_some() {
            // Protocol 2 takes over from every protocol 1 key.
            index.available = available_packages(&data);
        } else {
            index.providers_url = text(&data, "providers-url");
            index.has_providers = providers_lazy_url.is_some()
                || index.providers_url.is_some()
                || non_empty(data.get("providers"))
                || non_empty(data.get("provider-includes"));
            index.providers_lazy_url = providers_lazy_url;
        }
        index.metadata_url = metadata_url;

        if !index.has_providers && !has_partial && index.metadata_url.is_none() {
            let mut packages = HashMap::new();
            self.collect_with_includes(fetcher, data, &mut packages, 0)?;
            return Ok(RootIndex::Complete { packages });
        }
        if has_partial {
            collect_packages(&mut data, &mut index.partial);
        }
        if index.has_providers {
            self.collect_provider_listing(fetcher, &data, &mut index, 0)?;
        }
        Ok(RootIndex::PerPackage(index))
    }

    /// Composer's `loadIncludes`: `packages`, then every file of `includes`, recursively.
    fn collect_with_includes(
        &self,
        fetcher: &Fetcher,
        mut data: Value,
        packages: &mut HashMap<String, Vec<Value>>,
        depth: usize,
    ) -> Result<(), RepositoryError> {
        if data.get("packages").is_none() && data.get("includes").is_none() {
            // The oldest layout: `{"name": {"versions": {...}}}`.
            if let Some(map) = data.as_object_mut() {
                for (key, package) in map.iter_mut() {
                    if let Some(versions) = package.get_mut("versions").map(Value::take) {
                        push_versions(key, versions, packages);
                    }
                }
            }
            return Ok(());
        }
        collect_packages(&mut data, packages);
        if depth >= MAX_INCLUDE_DEPTH {
            return Ok(());
        }
        let includes: Vec<String> = data
            .get("includes")
            .and_then(Value::as_object)
            .map(|includes| includes.keys().cloned().collect())
            .unwrap_or_default();
        for include in includes {
            let url = Self::escape(&format!("{}/{include}", self.base_url));
            let document = self.fetch_existing_json(fetcher, &url, Freshness::Revalidate, None)?;
            self.collect_with_includes(fetcher, document, packages, depth + 1)?;
        }
        Ok(())
    }

    /// Composer's `loadProviderListings`: `providers`, then every `provider-includes` file.
    fn collect_provider_listing(
        &self,
        fetcher: &Fetcher,
        data: &Value,
        index: &mut PerPackageIndex,
        depth: usize,
    ) -> Result<(), RepositoryError> {
        if let Some(providers) = data.get("providers").and_then(Value::as_object) {
            for (name, entry) in providers {
                if let Some(hash) = entry.get("sha256").and_then(Value::as_str) {
                    index
                        .provider_listing
                        .insert(name.to_lowercase(), hash.to_owned());
                }
            }
        }
        if index.providers_url.is_none() || depth >= MAX_INCLUDE_DEPTH {
            return Ok(());
        }
        let Some(includes) = data.get("provider-includes").and_then(Value::as_object) else {
            return Ok(());
        };
        for (include, entry) in includes {
            let Some(hash) = entry.get("sha256").and_then(Value::as_str) else {
                return Err(RepositoryError::InvalidMetadata {
                    repository: self.url.clone(),
                    url: self.packages_json_url(),
                    message: format!("`provider-includes.{include}` has no `sha256`"),
                });
            };
            let url = Self::escape(&format!(
                "{}/{}",
                self.base_url,
                include.replace("%hash%", hash)
            ));
            let listing =
                self.fetch_existing_json(fetcher, &url, Freshness::Immutable, Some(hash))?;
            self.collect_provider_listing(fetcher, &listing, index, depth + 1)?;
        }
        Ok(())
    }

    /// The versions of `name` (lowercase) in this repository, or `None` when it does not have it.
    pub(crate) fn lookup(
        &self,
        fetcher: &Fetcher,
        name: &str,
        include_dev_branches: bool,
    ) -> Result<Option<Found>, RepositoryError> {
        self.load_root(fetcher)?;
        let Some(root) = self.root.get() else {
            return Ok(None);
        };
        let index = match root {
            RootIndex::Complete { packages } => {
                return Ok(packages
                    .get(name)
                    .map(|entries| read_entries(entries, name)));
            }
            RootIndex::PerPackage(index) => index,
        };
        let has_partial = index.partial.contains_key(name);
        if index.has_providers || has_partial {
            let found = self.what_provides(fetcher, index, name)?;
            return Ok(found.filter(|found| !found.versions.is_empty()));
        }
        let Some(template) = &index.metadata_url else {
            return Ok(None);
        };
        if index
            .available
            .as_ref()
            .is_some_and(|available| !available.contains(name))
        {
            return Ok(None);
        }
        let mut files = vec![name.to_owned()];
        if include_dev_branches {
            files.push(format!("{name}~dev"));
        }
        let mut found: Option<Found> = None;
        for file in files {
            let url = Self::escape(&template.replace("%package%", &file));
            let Some(part) = self.metadata_file(fetcher, &url, name)? else {
                continue;
            };
            match &mut found {
                Some(found) => found.extend(part),
                None => found = Some(part),
            }
        }
        Ok(found)
    }

    /// The versions of `name` in the protocol 2 file at `url`, `None` when there is no such file
    /// or it does not list the package. A cached body is read from its parsed copy when it has
    /// one ([`parsed_copy`]); after parsing a body, its copy is stored for the next run.
    fn metadata_file(
        &self,
        fetcher: &Fetcher,
        url: &str,
        name: &str,
    ) -> Result<Option<Found>, RepositoryError> {
        let mut retried = false;
        loop {
            let document = fetcher
                .get(url, Freshness::Revalidate)
                .map_err(|source| self.fetch_error(url, source))?;
            let Some(body) = document.body else {
                return Ok(None);
            };
            if let Some(digest) = &document.digest
                && let Ok(found) = Self::read_parsed_copy(fetcher, url, name, digest)
            {
                return Ok(found);
            }
            let from_cache = document.from_cache;
            match self.parse_metadata_file(fetcher, body, document.digest, from_cache, url, name) {
                Ok(found) => return Ok(found),
                // A cached body that cannot be read, does not match its digest or is not JSON
                // is dropped and fetched again, once.
                Err(Unreadable::Corrupt(_)) if from_cache && !retried => {
                    fetcher.forget(url);
                    retried = true;
                }
                Err(Unreadable::Corrupt(error) | Unreadable::Invalid(error)) => return Err(error),
            }
        }
    }

    /// The parsed copy of the body with `digest` ([`parsed_copy::decode`]).
    fn read_parsed_copy(
        fetcher: &Fetcher,
        url: &str,
        name: &str,
        digest: &str,
    ) -> Result<Option<Found>, NotACopy> {
        let key = CopyKey {
            url,
            package: name,
            digest,
        };
        let found = fetcher
            .with_stored(url, |bytes| parsed_copy::decode(bytes, &key))
            .ok_or(NotACopy)??;
        fetcher.count_parsed_copy();
        Ok(found)
    }

    /// Parses a protocol 2 file and stores its parsed copy when the body is in the disk cache.
    /// `digest` is the body's as the cache entry gives it; entries written by older versions give
    /// none, so it is computed, and the parsed copy looked for under it.
    fn parse_metadata_file(
        &self,
        fetcher: &Fetcher,
        body: Body,
        digest: Option<String>,
        from_cache: bool,
        url: &str,
        name: &str,
    ) -> Result<Option<Found>, Unreadable> {
        let body = body
            .read()
            .map_err(|source| Unreadable::Corrupt(self.fetch_error(url, source)))?;
        let digest = match digest {
            Some(expected) if from_cache => {
                let actual = hex_sha256(&body);
                if expected != actual {
                    return Err(Unreadable::Corrupt(RepositoryError::ChecksumMismatch {
                        repository: self.url.clone(),
                        url: url.to_owned(),
                        expected,
                        actual,
                    }));
                }
                Some(actual)
            }
            None if from_cache => {
                let actual = hex_sha256(&body);
                if let Ok(found) = Self::read_parsed_copy(fetcher, url, name, &actual) {
                    return Ok(found);
                }
                Some(actual)
            }
            // Received now: the digest (when the cache took the body) is the body's.
            received => received,
        };
        let read = metadata_file::read(&body, name).map_err(|error| {
            Unreadable::Corrupt(RepositoryError::InvalidJson {
                repository: self.url.clone(),
                url: url.to_owned(),
                message: error.to_string(),
            })
        })?;
        let found = match read {
            FileVersions::NotListed => None,
            FileVersions::NotAList => {
                return Err(Unreadable::Invalid(RepositoryError::InvalidMetadata {
                    repository: self.url.clone(),
                    url: url.to_owned(),
                    message: format!("`packages.{name}` must be a list of versions"),
                }));
            }
            FileVersions::Listed(found) => Some(found),
        };
        if let Some(digest) = digest {
            let key = CopyKey {
                url,
                package: name,
                digest: &digest,
            };
            fetcher.store(url, &parsed_copy::encode(&key, found.as_ref()));
        }
        Ok(found)
    }

    /// Composer's `whatProvides` for protocol 1 and partial packages.
    fn what_provides(
        &self,
        fetcher: &Fetcher,
        index: &PerPackageIndex,
        name: &str,
    ) -> Result<Option<Found>, RepositoryError> {
        if let Some(entries) = index.partial.get(name) {
            return Ok(Some(read_entries(entries, name)));
        }
        let listed = index.provider_listing.get(name);
        let data = match (&index.providers_lazy_url, &index.providers_url, listed) {
            (Some(lazy), _, None) => {
                let url = Self::escape(&lazy.replace("%package%", name));
                self.fetch_json(fetcher, &url, Freshness::Revalidate, None)?
            }
            (_, Some(template), Some(hash)) => {
                let url =
                    Self::escape(&template.replace("%package%", name).replace("%hash%", hash));
                Some(self.fetch_existing_json(fetcher, &url, Freshness::Immutable, Some(hash))?)
            }
            _ => None,
        };
        let Some(mut data) = data else {
            return Ok(None);
        };
        let mut packages = HashMap::new();
        collect_packages(&mut data, &mut packages);
        Ok(packages
            .remove(name)
            .map(|entries| read_entries(&entries, name)))
    }

    /// Fetches and parses a JSON document; a cached copy that is corrupt (not JSON, wrong hash) is
    /// dropped and fetched again once.
    fn fetch_json(
        &self,
        fetcher: &Fetcher,
        url: &str,
        freshness: Freshness,
        sha256: Option<&str>,
    ) -> Result<Option<Value>, RepositoryError> {
        let mut retried = false;
        loop {
            let response = fetcher
                .get(url, freshness)
                .map_err(|source| self.fetch_error(url, source))?;
            let Some(body) = response.body else {
                return Ok(None);
            };
            let retry = response.from_cache && !retried;
            let body = match body.read() {
                Ok(body) => body,
                Err(_) if retry => {
                    fetcher.forget(url);
                    retried = true;
                    continue;
                }
                Err(source) => return Err(self.fetch_error(url, source)),
            };
            if let Some(expected) = sha256 {
                let actual = hex_sha256(&body);
                if !actual.eq_ignore_ascii_case(expected) {
                    if retry {
                        fetcher.forget(url);
                        retried = true;
                        continue;
                    }
                    return Err(RepositoryError::ChecksumMismatch {
                        repository: self.url.clone(),
                        url: url.to_owned(),
                        expected: expected.to_owned(),
                        actual,
                    });
                }
            }
            match serde_json::from_slice(&body) {
                Ok(value) => return Ok(Some(value)),
                Err(_) if retry => {
                    fetcher.forget(url);
                    retried = true;
                }
                Err(error) => {
                    return Err(RepositoryError::InvalidJson {
                        repository: self.url.clone(),
                        url: url.to_owned(),
                        message: error.to_string(),
                    });
                }
            }
        }
    }

    /// [`Self::fetch_json`] for a document the repository must have: a missing one is an error.
    fn fetch_existing_json(
        &self,
        fetcher: &Fetcher,
        url: &str,
        freshness: Freshness,
        sha256: Option<&str>,
    ) -> Result<Value, RepositoryError> {
        self.fetch_json(fetcher, url, freshness, sha256)?
            .ok_or_else(|| self.fetch_error(url, FetchError::Status { status: 404 }))
    }

    fn fetch_error(&self, url: &str, source: FetchError) -> RepositoryError {
        RepositoryError::Fetch {
            repository: self.url.clone(),
            url: url.to_owned(),
            source,
        }
    }

    /// Composer's `canonicalizeUrl`, plus relative paths resolved against the repository.
    fn canonical_url(&self, url: &str) -> String {
        if url.contains("://") {
            return url.to_owned();
        }
        if url.starts_with('/') {
            return format!("{}{url}", origin(&self.url));
        }
        format!("{}/{url}", self.base_url)
    }

    /// Composer escapes `$` in HTTP URLs because some proxies choke on it.
    fn escape(url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.replace('$', "%24")
        } else {
            url.to_owned()
        }
    }
}

/// `scheme://host[:port]` of a URL (`file://` for local ones).
fn origin(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let host_length = rest.find('/').unwrap_or(rest.len());
    &url[..scheme.len() + 3 + host_length]
}

fn base_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    let without_file = match without_query.rsplit_once('/') {
        Some((head, file))
            if std::path::Path::new(file)
                .extension()
                .is_some_and(|extension| extension == "json")
                && !file.contains('\\')
                && !head.ends_with('/')
                && head.contains("://") =>
        {
            head
        }
        _ => without_query,
    };
    without_file.trim_end_matches('/').to_owned()
}

fn non_empty(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Object(map)) => !map.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        _ => false,
    }
}

fn available_packages(data: &Value) -> Option<AvailablePackages> {
    let strings = |key: &str| -> Vec<String> {
        data.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let names = strings("available-packages");
    let patterns = strings("available-package-patterns");
    if names.is_empty() && patterns.is_empty() {
        return None;
    }
    Some(AvailablePackages {
        names: names.into_iter().collect(),
        patterns: patterns
            .iter()
            .map(|pattern| NamePattern::new(pattern))
            .collect(),
    })
}

/// Moves the versions of `packages` (`name → version → metadata`, or `name → [metadata]`) into
/// `into`, keyed by the lowercase name the metadata gives (the key when it gives none).
fn collect_packages(data: &mut Value, into: &mut HashMap<String, Vec<Value>>) {
    let Some(Value::Object(packages)) = data.get_mut("packages").map(Value::take) else {
        return;
    };
    for (key, versions) in packages {
        push_versions(&key, versions, into);
    }
}

fn push_versions(key: &str, versions: Value, into: &mut HashMap<String, Vec<Value>>) {
    let entries: Vec<Value> = match versions {
        Value::Object(by_version) => by_version.into_iter().map(|(_, entry)| entry).collect(),
        Value::Array(entries) => entries,
        _ => return,
    };
    for entry in entries {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_lowercase();
        into.entry(name).or_default().push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_relative_to_the_repository() {
        let repository = ComposerRepository::new("https://repo.test:8443/sub".to_owned());
        assert_eq!(
            repository.packages_json_url(),
            "https://repo.test:8443/sub/packages.json"
        );
        assert_eq!(
            repository.canonical_url("/p2/%package%.json"),
            "https://repo.test:8443/p2/%package%.json"
        );
        assert_eq!(
            repository.canonical_url("p2/%package%.json"),
            "https://repo.test:8443/sub/p2/%package%.json"
        );
        assert_eq!(
            repository.canonical_url("https://cdn.test/p2/%package%.json"),
            "https://cdn.test/p2/%package%.json"
        );
        assert_eq!(
            ComposerRepository::escape("https://repo.test/p/a/b$abc.json"),
            "https://repo.test/p/a/b%24abc.json"
        );

        let file = ComposerRepository::new("https://repo.test/satis/packages.json".to_owned());
        assert_eq!(
            file.packages_json_url(),
            "https://repo.test/satis/packages.json"
        );
        assert_eq!(file.base_url, "https://repo.test/satis");

        let local = ComposerRepository::new("file:///srv/repo".to_owned());
        assert_eq!(local.packages_json_url(), "file:///srv/repo/packages.json");
        assert_eq!(
            local.canonical_url("p2/%package%.json"),
            "file:///srv/repo/p2/%package%.json"
        );
        // As in Composer, a leading slash means the root of the URL's host: the file system root.
        assert_eq!(
            local.canonical_url("/p2/%package%.json"),
            "file:///p2/%package%.json"
        );
        assert_eq!(
            ComposerRepository::escape("file:///srv/repo/p/a$b.json"),
            "file:///srv/repo/p/a$b.json"
        );
    }

    #[test]
    fn packages_are_keyed_by_their_metadata_name() {
        let mut data = serde_json::json!({"packages": {
            "Acme/Widget": {"1.0.0": {"name": "Acme/Widget", "version": "1.0.0"}},
            "acme/list": [{"version": "2.0.0"}],
            "acme/odd": "not versions"
        }});
        let mut packages = HashMap::new();
        collect_packages(&mut data, &mut packages);
        let mut names: Vec<&String> = packages.keys().collect();
        names.sort();
        assert_eq!(names, ["acme/list", "acme/widget"]);
        assert_eq!(packages["acme/list"].len(), 1);
    }
}
