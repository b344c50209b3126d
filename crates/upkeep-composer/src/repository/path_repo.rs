//! `type: path` repositories: every directory the `url` matches (a glob with `*`, `?`, `[...]` and
//! `{a,b}`, relative to the project) that holds a `composer.json` is one package.
//!
//! Its version is, as in Composer's `PathRepository`: `options.versions[name]`, else the
//! `version` key of its `composer.json`, else guessed from git, else `dev-main`. The git guess
//! reads `HEAD` of the repository that contains the directory (no `git` process): on a branch it
//! is `dev-<branch>`, or `<n>.x-dev` for a numbered branch such as `2.x` or `1.4`; on a detached
//! `HEAD` it is `dev-<commit>`. Composer additionally looks for the nearest version branch of a
//! feature branch and for a tag on a detached commit; those refinements are left out, which only
//! matters for path packages on feature branches or tags.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use super::{Found, RepositoryError, read_entries};

/// The packages of one path repository.
pub(crate) fn load_path_repository(
    project_dir: &Path,
    url: &str,
    options: &Value,
) -> Result<IndexMap<String, Found>, RepositoryError> {
    let pattern = expand_home(url);
    let absolute_pattern = if Path::new(&pattern).is_absolute() {
        pattern.clone()
    } else {
        format!("{}/{pattern}", project_dir.display())
    };
    let matches = glob_directories(&absolute_pattern);
    if matches.is_empty() {
        // As in Composer: an empty glob is fine when the directory before the wildcard exists.
        let literal_prefix = absolute_pattern
            .split('/')
            .take_while(|segment| !has_wildcard(segment))
            .collect::<Vec<_>>()
            .join("/");
        if !(has_wildcard(&absolute_pattern) && Path::new(&literal_prefix).is_dir()) {
            return Err(RepositoryError::PathNotFound {
                url: url.to_owned(),
                resolved: PathBuf::from(absolute_pattern),
            });
        }
    }
    let versions_option = options.get("versions").and_then(Value::as_object);
    let mut packages: IndexMap<String, Found> = IndexMap::new();
    for directory in matches {
        let manifest_path = directory.join("composer.json");
        let text = match fs_err::read_to_string(&manifest_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(RepositoryError::Io {
                    path: manifest_path,
                    source,
                });
            }
        };
        let invalid = |message: String| RepositoryError::InvalidPathPackage {
            url: url.to_owned(),
            path: manifest_path.clone(),
            message,
        };
        let mut manifest: Value =
            serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
        let Some(name) = manifest
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(invalid("the package has no `name`".to_owned()));
        };
        let version = versions_option
            .and_then(|versions| versions.get(&name))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                manifest
                    .get("version")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .or_else(|| guess_git_version(&directory))
            .unwrap_or_else(|| "dev-main".to_owned());
        let Some(fields) = manifest.as_object_mut() else {
            return Err(invalid("composer.json must be an object".to_owned()));
        };
        fields.insert("version".to_owned(), Value::String(version));
        fields.remove("version_normalized");
        let key = name.to_lowercase();
        let found = read_entries(std::iter::once(&manifest), &key);
        if let Some(problem) = found.invalid.first() {
            return Err(invalid(problem.clone()));
        }
        packages.entry(key).or_default().extend(found);
    }
    Ok(packages)
}

fn expand_home(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return format!("{}/{rest}", PathBuf::from(home).display());
    }
    url.to_owned()
}

/// What `HEAD` of a git repository points at.
enum GitHead {
    Branch(String),
    /// A detached `HEAD`: the commit.
    Detached(String),
}

/// Finds the git repository containing `directory` and reads its `HEAD`.
fn git_head(directory: &Path) -> Option<GitHead> {
    let git_dir = directory.ancestors().find_map(|ancestor| {
        let candidate = ancestor.join(".git");
        if candidate.is_dir() {
            return Some(candidate);
        }
        // A worktree or submodule: `.git` is a file saying `gitdir: <path>`.
        let text = fs_err::read_to_string(&candidate).ok()?;
        let target = text.strip_prefix("gitdir:")?.trim();
        Some(ancestor.join(target))
    })?;
    let head = fs_err::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    if let Some(reference) = head.strip_prefix("ref:") {
        let branch = reference.trim().strip_prefix("refs/heads/")?;
        return Some(GitHead::Branch(branch.to_owned()));
    }
    (!head.is_empty()).then(|| GitHead::Detached(head.to_owned()))
}

fn guess_git_version(directory: &Path) -> Option<String> {
    match git_head(directory)? {
        GitHead::Branch(branch) => Some(branch_version(&branch)),
        GitHead::Detached(commit) => Some(format!("dev-{commit}")),
    }
}

/// Composer's name for a branch: `2.x` and `1.4` are numbered branches (`2.x-dev`, `1.4.x-dev`),
/// anything else is `dev-<branch>`.
fn branch_version(branch: &str) -> String {
    let digits = branch
        .strip_prefix(['v', 'V'])
        .unwrap_or(branch)
        .split('.')
        .collect::<Vec<_>>();
    let numbered = digits.len() <= 4
        && digits.first().is_some_and(|first| {
            !first.is_empty() && first.bytes().all(|byte| byte.is_ascii_digit())
        })
        && digits.iter().skip(1).all(|part| {
            matches!(*part, "x" | "X" | "*")
                || (!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
        });
    if !numbered {
        return format!("dev-{branch}");
    }
    // Composer normalises a numbered branch with wildcards (`2.x` → `2.9999999.9999999.9999999-dev`)
    // and writes every run of wildcards as one `.x`; without a wildcard the name stays `dev-<branch>`.
    let mut parts: Vec<&str> = digits
        .iter()
        .map(|part| {
            if matches!(*part, "x" | "X" | "*") {
                "x"
            } else {
                part
            }
        })
        .collect();
    parts.resize(4, "x");
    if !parts.contains(&"x") {
        return format!("dev-{branch}");
    }
    let mut pretty = parts[0].to_owned();
    for (index, part) in parts.iter().enumerate().skip(1) {
        if *part != "x" {
            pretty.push('.');
            pretty.push_str(part);
        } else if parts[index - 1] != "x" {
            pretty.push_str(".x");
        }
    }
    format!("{pretty}-dev")
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Directories matching a glob, sorted per brace alternative like PHP's
/// `glob(GLOB_ONLYDIR | GLOB_BRACE)`. Names starting with a dot match only a pattern that does.
fn glob_directories(pattern: &str) -> Vec<PathBuf> {
    let mut results = Vec::new();
    for alternative in expand_braces(pattern) {
        let absolute = alternative.starts_with('/');
        let mut current = vec![if absolute {
            PathBuf::from("/")
        } else {
            PathBuf::from(".")
        }];
        for segment in alternative.split('/').filter(|segment| !segment.is_empty()) {
            let mut next = Vec::new();
            for base in &current {
                if has_wildcard(segment) {
                    let Ok(entries) = fs_err::read_dir(base) else {
                        continue;
                    };
                    let mut names: Vec<String> = entries
                        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                        .filter(|name| {
                            (!name.starts_with('.') || segment.starts_with('.'))
                                && segment_matches(segment, name)
                        })
                        .collect();
                    names.sort();
                    next.extend(names.into_iter().map(|name| base.join(name)));
                } else {
                    next.push(base.join(segment));
                }
            }
            current = next;
        }
        for path in current {
            if path.is_dir() && !results.contains(&path) {
                results.push(path);
            }
        }
    }
    results
}

/// `a{b,c{d,e}}f` → `abf`, `acdf`, `acef`.
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (position, character) in pattern[open..].char_indices() {
        match character {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + position);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + position),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_owned()];
    };
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut expanded = Vec::new();
    for window in bounds.windows(2) {
        let choice = &pattern[window[0] + 1..window[1]];
        expanded.extend(expand_braces(&format!("{prefix}{choice}{suffix}")));
    }
    expanded
}

/// Shell-style matching of one path segment: `*`, `?`, `[abc]`, `[a-z]`, `[!a]`.
fn segment_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches_from(&pattern, &name)
}

fn matches_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| matches_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && matches_from(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some((&first, rest)) = name.split_first() else {
                return false;
            };
            let Some(end) = pattern
                .iter()
                .skip(2)
                .position(|c| *c == ']')
                .map(|p| p + 2)
            else {
                // No closing bracket: a literal `[`.
                return first == '[' && matches_from(&pattern[1..], rest);
            };
            let class = &pattern[1..end];
            let (negated, class) = match class.first() {
                Some('!' | '^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut matched = false;
            let mut index = 0;
            while index < class.len() {
                if index + 2 < class.len() && class[index + 1] == '-' {
                    matched |= (class[index]..=class[index + 2]).contains(&first);
                    index += 3;
                } else {
                    matched |= class[index] == first;
                    index += 1;
                }
            }
            matched != negated && matches_from(&pattern[end + 1..], rest)
        }
        Some(literal) => name.first() == Some(literal) && matches_from(&pattern[1..], &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::repository::PackageVersion;

    fn version_of(found: &Found) -> Option<&PackageVersion> {
        found.versions.first()
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        fs_err::write(path, text).unwrap_or_else(|error| panic!("{error}"));
    }

    #[test]
    fn glob_segments() {
        assert!(segment_matches("*", "anything"));
        assert!(segment_matches("pkg-?", "pkg-a"));
        assert!(!segment_matches("pkg-?", "pkg-ab"));
        assert!(segment_matches("[ab]*", "beta"));
        assert!(!segment_matches("[!ab]*", "beta"));
        assert!(segment_matches("[a-c]x", "bx"));
        assert!(!segment_matches("[a-c]x", "dx"));
        assert!(segment_matches("a[x", "a[x"));
        assert_eq!(
            expand_braces("p/{a,b{c,d}}/e"),
            ["p/a/e", "p/bc/e", "p/bd/e"]
        );
    }

    #[test]
    fn branch_versions() {
        assert_eq!(branch_version("main"), "dev-main");
        assert_eq!(branch_version("feature/x"), "dev-feature/x");
        assert_eq!(branch_version("2.x"), "2.x-dev");
        assert_eq!(branch_version("v1"), "1.x-dev");
        assert_eq!(branch_version("1.4"), "1.4.x-dev");
        assert_eq!(branch_version("1.4.x"), "1.4.x-dev");
        assert_eq!(branch_version("1.2.3.4"), "dev-1.2.3.4");
        assert_eq!(branch_version("1.x.2"), "1.x.2.x-dev");
    }

    #[test]
    fn packages_from_a_glob_with_versions_by_rule() {
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let root = project.path();
        write(
            &root.join("packages/alpha/composer.json"),
            r#"{"name": "acme/alpha", "version": "1.2.0", "require": {"php": ">=8.1"}}"#,
        );
        write(
            &root.join("packages/beta/composer.json"),
            r#"{"name": "Acme/Beta"}"#,
        );
        write(
            &root.join("packages/gamma/composer.json"),
            r#"{"name": "acme/gamma"}"#,
        );
        write(&root.join("packages/no-manifest/README"), "not a package");
        write(
            &root.join("packages/.hidden/composer.json"),
            r#"{"name": "acme/hidden"}"#,
        );
        // A git repository on a numbered branch holds gamma.
        write(
            &root.join("packages/gamma/.git/HEAD"),
            "ref: refs/heads/3.x\n",
        );
        write(
            &root.join("packages/gamma/.git/packed-refs"),
            "# pack-refs with: peeled\n0123456789abcdef0123456789abcdef01234567 refs/heads/3.x\n",
        );

        let packages = load_path_repository(
            root,
            "packages/*",
            &json!({"versions": {"Acme/Beta": "2.0.x-dev"}}),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let summary: Vec<(&str, &str, &str)> = packages
            .iter()
            .map(|(name, found)| {
                let version = version_of(found).expect("one version");
                (
                    name.as_str(),
                    version.version.pretty(),
                    version.version.normalized(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("acme/alpha", "1.2.0", "1.2.0.0"),
                ("acme/beta", "2.0.x-dev", "2.0.9999999.9999999-dev"),
                ("acme/gamma", "3.x-dev", "3.9999999.9999999.9999999-dev"),
            ]
        );
        let alpha = version_of(&packages[0]).expect("alpha");
        assert_eq!(alpha.require.get("php"), Some(">=8.1"));
    }

    #[test]
    fn version_falls_back_to_dev_main_and_reads_the_enclosing_repository() {
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let root = project.path();
        write(
            &root.join("lib/one/composer.json"),
            r#"{"name": "acme/one"}"#,
        );
        let packages = load_path_repository(root, "lib/one", &Value::Null)
            .unwrap_or_else(|error| panic!("{error}"));
        // The temporary directory is not inside a git repository.
        if git_head(&root.join("lib/one")).is_none() {
            assert_eq!(
                version_of(&packages[0]).map(|v| v.version.pretty()),
                Some("dev-main")
            );
        }
        write(&root.join(".git/HEAD"), "ref: refs/heads/feature/login\n");
        let packages = load_path_repository(root, "lib/{one,two}", &Value::Null)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            version_of(&packages[0]).map(|v| v.version.pretty()),
            Some("dev-feature/login")
        );
        write(&root.join(".git/HEAD"), "89abcdef\n");
        let packages = load_path_repository(root, "lib/one", &Value::Null)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            version_of(&packages[0]).map(|v| v.version.pretty()),
            Some("dev-89abcdef")
        );
    }

    #[test]
    fn missing_paths_and_broken_packages() {
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let root = project.path();
        let error = load_path_repository(root, "nowhere", &Value::Null).expect_err("missing");
        assert!(
            matches!(error, RepositoryError::PathNotFound { .. }),
            "{error}"
        );
        let error = load_path_repository(root, "nowhere/*", &Value::Null).expect_err("missing");
        assert!(
            matches!(error, RepositoryError::PathNotFound { .. }),
            "{error}"
        );
        // The directory before the wildcard exists: an empty repository.
        fs_err::create_dir_all(root.join("empty")).unwrap_or_else(|error| panic!("{error}"));
        let packages = load_path_repository(root, "empty/*", &Value::Null)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(packages.is_empty());
        write(&root.join("bad/composer.json"), r#"{"version": "1.0.0"}"#);
        let error = load_path_repository(root, "bad", &Value::Null).expect_err("no name");
        assert!(
            error.to_string().ends_with("the package has no `name`"),
            "{error}"
        );
    }
}
