//! The `repositories` of `composer.json`, read into an ordered list the way Composer's `Config`
//! merges them: the project's repositories first, in the order written, then Packagist unless it
//! is disabled (`"packagist.org": false`, as a key or as an anonymous `{"packagist.org": false}`
//! entry) or redefined (a `composer` repository whose URL is on `packagist.org`).

use serde_json::Value;

use super::RepositoryError;
use super::metadata::NamePattern;

/// The URL of Packagist's metadata repository.
pub const PACKAGIST_URL: &str = "https://repo.packagist.org";

/// One repository, with Composer's filter options.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RepositoryDefinition {
    pub(crate) kind: RepositoryKind,
    /// Where it was written, for messages: `repositories[2]` or `repositories.private`.
    pub(crate) position: String,
    pub(crate) filter: PackageFilter,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RepositoryKind {
    Composer { url: String },
    Path { url: String, options: Value },
    Package { packages: Value },
}

/// `only`, `exclude` and `canonical`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PackageFilter {
    pub(crate) only: Option<Vec<NamePattern>>,
    pub(crate) exclude: Vec<NamePattern>,
    /// `false` lets repositories after this one add versions of the same package.
    pub(crate) non_canonical: bool,
}

impl PackageFilter {
    /// `name` must be lowercase.
    pub(crate) fn allows(&self, name: &str) -> bool {
        if let Some(only) = &self.only {
            return only.iter().any(|pattern| pattern.matches(name));
        }
        !self.exclude.iter().any(|pattern| pattern.matches(name))
    }
}

/// The repositories to ask, in order, and warnings about the ones left out.
#[derive(Debug, Default)]
pub(crate) struct RepositoryList {
    pub(crate) repositories: Vec<RepositoryDefinition>,
    pub(crate) warnings: Vec<String>,
}

/// Reads `repositories` (an array or an object, or absent).
pub(crate) fn read_repositories(value: Option<&Value>) -> Result<RepositoryList, RepositoryError> {
    let mut entries: Vec<(String, Option<String>, &Value)> = Vec::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                entries.push((format!("repositories[{index}]"), None, item));
            }
        }
        Some(Value::Object(map)) => {
            for (name, item) in map {
                entries.push((format!("repositories.{name}"), Some(name.clone()), item));
            }
        }
        Some(_) => {
            return Err(invalid(
                "repositories",
                "`repositories` must be an array or an object",
            ));
        }
    }

    let mut list = RepositoryList::default();
    let mut packagist_enabled = true;
    for (position, name, item) in entries {
        match read_entry(&position, name.as_deref(), item)? {
            Entry::Disable { name } => {
                if canonical_repository_name(&name) == "packagist.org" {
                    packagist_enabled = false;
                }
            }
            Entry::Skip { warning } => list.warnings.push(warning),
            Entry::Repository(definition) => {
                let replaces_packagist = name
                    .as_deref()
                    .is_some_and(|name| canonical_repository_name(name) == "packagist.org");
                let redefines_packagist = matches!(
                    &definition.kind,
                    RepositoryKind::Composer { url } if is_packagist_url(url)
                );
                if replaces_packagist || redefines_packagist {
                    packagist_enabled = false;
                }
                list.repositories.push(definition);
            }
        }
    }
    if packagist_enabled {
        list.repositories.push(RepositoryDefinition {
            kind: RepositoryKind::Composer {
                url: PACKAGIST_URL.to_owned(),
            },
            position: "packagist.org".to_owned(),
            filter: PackageFilter::default(),
        });
    }
    Ok(list)
}

/// What one entry of `repositories` amounts to.
enum Entry {
    /// `"name": false`, or `{"name": false}` in a list.
    Disable {
        name: String,
    },
    /// A repository type that is not read.
    Skip {
        warning: String,
    },
    Repository(RepositoryDefinition),
}

fn read_entry(position: &str, name: Option<&str>, item: &Value) -> Result<Entry, RepositoryError> {
    if *item == Value::Bool(false) {
        return Ok(Entry::Disable {
            name: name.unwrap_or_default().to_owned(),
        });
    }
    let Some(fields) = item.as_object() else {
        return Err(invalid(position, "a repository must be an object"));
    };
    if fields.len() == 1
        && let Some((disabled, Value::Bool(false))) = fields.iter().next()
    {
        return Ok(Entry::Disable {
            name: disabled.clone(),
        });
    }
    let Some(kind) = fields.get("type").and_then(Value::as_str) else {
        return Err(invalid(position, "a repository needs a `type`"));
    };
    let url = fields.get("url").and_then(Value::as_str);
    let kind = match kind {
        "composer" => RepositoryKind::Composer {
            url: composer_url(url.ok_or_else(|| invalid(position, "needs a `url`"))?),
        },
        "path" => RepositoryKind::Path {
            url: url
                .ok_or_else(|| invalid(position, "needs a `url`"))?
                .to_owned(),
            options: fields.get("options").cloned().unwrap_or(Value::Null),
        },
        "package" => RepositoryKind::Package {
            packages: fields
                .get("package")
                .cloned()
                .ok_or_else(|| invalid(position, "needs a `package`"))?,
        },
        "vcs" | "git" | "github" | "gitlab" | "bitbucket" | "git-bitbucket" | "hg" | "fossil"
        | "svn" | "perforce" | "artifact" => {
            return Ok(Entry::Skip {
                warning: format!(
                    "{position}: `{kind}` repositories ({}) are not read for planning; packages \
                     only they provide have no versions in the plan, and a later repository may \
                     answer for a package they would have provided",
                    url.unwrap_or("no url")
                ),
            });
        }
        other => {
            return Ok(Entry::Skip {
                warning: format!("{position}: unknown repository type `{other}` is ignored"),
            });
        }
    };
    Ok(Entry::Repository(RepositoryDefinition {
        kind,
        position: position.to_owned(),
        filter: read_filter(fields, position)?,
    }))
}

fn read_filter(
    fields: &serde_json::Map<String, Value>,
    position: &str,
) -> Result<PackageFilter, RepositoryError> {
    let patterns = |key: &str| -> Result<Option<Vec<NamePattern>>, RepositoryError> {
        let Some(value) = fields.get(key) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| invalid(position, &format!("`{key}` must be an array of names")))?;
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(NamePattern::new)
                    .ok_or_else(|| invalid(position, &format!("`{key}` must be an array of names")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    let only = patterns("only")?;
    let exclude = patterns("exclude")?;
    if only.is_some() && exclude.is_some() {
        return Err(invalid(
            position,
            "only one of `only` and `exclude` can be given",
        ));
    }
    let non_canonical = match fields.get("canonical") {
        None => false,
        Some(Value::Bool(canonical)) => !canonical,
        Some(_) => return Err(invalid(position, "`canonical` must be true or false")),
    };
    Ok(PackageFilter {
        only,
        exclude: exclude.unwrap_or_default(),
        non_canonical,
    })
}

/// Composer's reading of a `composer` repository URL: `http://` is assumed without a scheme,
/// trailing slashes go, and `packagist.org` means its metadata host.
fn composer_url(url: &str) -> String {
    let has_scheme = url.split_once("://").is_some_and(|(scheme, _)| {
        scheme
            .trim_end_matches('?')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && !scheme.is_empty()
    });
    let url = if has_scheme {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let url = url.trim_end_matches('/').to_owned();
    for scheme in ["https", "http"] {
        if let Some(host) = url.strip_prefix(&format!("{scheme}://"))
            && host.eq_ignore_ascii_case("packagist.org")
        {
            return format!("{scheme}://repo.packagist.org");
        }
    }
    url
}

fn is_packagist_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if scheme != "http" && scheme != "https" {
        return false;
    }
    let host = rest.split('/').next().unwrap_or_default().to_lowercase();
    host == "packagist.org" || host.ends_with(".packagist.org")
}

fn canonical_repository_name(name: &str) -> String {
    if name == "packagist" {
        "packagist.org".to_owned()
    } else {
        name.to_owned()
    }
}

fn invalid(position: &str, message: &str) -> RepositoryError {
    RepositoryError::InvalidDefinition {
        position: position.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(value: &Value) -> RepositoryList {
        read_repositories(Some(value)).unwrap_or_else(|error| panic!("{error}"))
    }

    fn urls(list: &RepositoryList) -> Vec<String> {
        list.repositories
            .iter()
            .map(|repository| match &repository.kind {
                RepositoryKind::Composer { url } | RepositoryKind::Path { url, .. } => url.clone(),
                RepositoryKind::Package { .. } => "package".to_owned(),
            })
            .collect()
    }

    #[test]
    fn packagist_comes_last_unless_disabled() {
        assert_eq!(
            urls(&read_repositories(None).unwrap_or_else(|error| panic!("{error}"))),
            [PACKAGIST_URL]
        );
        let list = read(&json!([
            {"type": "composer", "url": "https://repo.acme.test/"},
            {"type": "path", "url": "packages/*"}
        ]));
        assert_eq!(
            urls(&list),
            ["https://repo.acme.test", "packages/*", PACKAGIST_URL]
        );
        for disabled in [
            json!([{"packagist.org": false}]),
            json!([{"packagist": false}]),
            json!({"packagist.org": false}),
            json!({"packagist": false}),
        ] {
            assert!(read(&disabled).repositories.is_empty(), "{disabled}");
        }
        // Redefining packagist.org points at its metadata host, once.
        assert_eq!(
            urls(&read(
                &json!([{"type": "composer", "url": "https://packagist.org"}])
            )),
            [PACKAGIST_URL]
        );
    }

    #[test]
    fn vcs_repositories_become_warnings() {
        let list = read(&json!([
            {"type": "vcs", "url": "https://github.com/acme/fork"},
            {"type": "weird"},
            {"packagist.org": false}
        ]));
        assert!(list.repositories.is_empty());
        assert_eq!(list.warnings.len(), 2);
        assert!(list.warnings[0].starts_with(
            "repositories[0]: `vcs` repositories (https://github.com/acme/fork) are not read"
        ));
        assert_eq!(
            list.warnings[1],
            "repositories[1]: unknown repository type `weird` is ignored"
        );
    }

    #[test]
    fn filters() {
        let list = read(&json!([
            {"type": "composer", "url": "https://a.test", "only": ["acme/*"], "canonical": false},
            {"type": "composer", "url": "https://b.test", "exclude": ["acme/secret"]},
            {"packagist.org": false}
        ]));
        let only = &list.repositories[0].filter;
        assert!(only.allows("acme/widget") && !only.allows("other/widget"));
        assert!(only.non_canonical);
        let exclude = &list.repositories[1].filter;
        assert!(!exclude.allows("acme/secret") && exclude.allows("acme/widget"));
        assert!(!exclude.non_canonical);
    }

    #[test]
    fn invalid_definitions_name_their_position() {
        let error = read_repositories(Some(&json!([{"type": "composer"}]))).expect_err("no url");
        assert_eq!(
            error.to_string(),
            "repositories[0] in composer.json: needs a `url`"
        );
        let error =
            read_repositories(Some(&json!({"private": {"url": "x"}}))).expect_err("no type");
        assert_eq!(
            error.to_string(),
            "repositories.private in composer.json: a repository needs a `type`"
        );
        let error = read_repositories(Some(&json!([
            {"type": "composer", "url": "https://a.test", "only": ["a/*"], "exclude": ["b/*"]}
        ])))
        .expect_err("both filters");
        assert!(
            error
                .to_string()
                .ends_with("only one of `only` and `exclude` can be given")
        );
    }

    #[test]
    fn composer_urls() {
        assert_eq!(composer_url("repo.test/"), "http://repo.test");
        assert_eq!(composer_url("file:///srv/repo/"), "file:///srv/repo");
        assert_eq!(
            composer_url("http://packagist.org/"),
            "http://repo.packagist.org"
        );
        assert!(is_packagist_url("https://repo.packagist.org"));
        assert!(!is_packagist_url("https://notpackagist.org.test"));
    }
}
