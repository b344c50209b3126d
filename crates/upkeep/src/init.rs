//! `upkeep init [PATH]`: looks at a Spryker project (its `composer.json`, deploy files, CI
//! files and git remote) and writes what upkeep needs to run on it: `upkeep.yml`, a deploy file
//! skeleton when the project has none, and the CI file of its forge — the GitHub Actions
//! workflow or `.gitlab-ci.yml` — at the root of its git repository. It never overwrites a file
//! without `--force`, and says what it wrote and what it kept.
//!
//! The templates are files of this crate (`templates/`), compiled in and shown in docs/ci.md.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use upkeep_composer::ComposerJson;
use upkeep_forge::git::Git;
use upkeep_forge::remote::{ForgeKind, RemoteRepository};
use upkeep_gate::repository::SourceRoot;

use crate::{Outcome, output, print_error};

pub const GITHUB_WORKFLOW: &str = include_str!("../templates/github-workflow.yml");
pub const GITLAB_CI: &str = include_str!("../templates/gitlab-ci.yml");
pub const UPKEEP_YML: &str = include_str!("../templates/upkeep.yml");
pub const DEPLOY_YML: &str = include_str!("../templates/deploy.yml");

/// Where the GitHub workflow goes, from the repository's root.
pub const GITHUB_WORKFLOW_PATH: &str = ".github/workflows/upkeep.yml";
pub const GITLAB_CI_PATH: &str = ".gitlab-ci.yml";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Spryker project (the directory with `composer.json`); it may be a subdirectory of
    /// its git repository, whose root then gets the CI file.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,

    /// The forge whose CI file to write, when neither the `origin` remote nor existing CI files
    /// tell.
    #[arg(long, value_enum)]
    pub forge: Option<ForgeChoice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForgeChoice {
    Github,
    Gitlab,
}

/// What `init` found out about the project.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Survey {
    /// `composer.json`'s name without its vendor, as deploy files and `upkeep.yml` name it.
    project: String,
    /// `major.minor` of the PHP the shop runs.
    php_version: String,
    /// The branch pipelines deploy from.
    branch: String,
    /// The project's deploy files at its root, sorted.
    deploy_files: Vec<String>,
    /// The project's directory from the repository's root (`.` when it is the root).
    project_dir: String,
    /// The repository's root (the project's directory when it is in none).
    repository_root: PathBuf,
    forge: Option<ForgeChoice>,
}

pub fn run(args: &InitArgs) -> Outcome {
    let survey = match survey(args) {
        Ok(survey) => survey,
        Err((message, hint)) => {
            print_error(&message, Some(&hint));
            return Outcome::Failed;
        }
    };
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let deploy_file = survey
        .deploy_files
        .iter()
        .find(|file| *file == "deploy.yml")
        .or_else(|| survey.deploy_files.first())
        .cloned();
    let deploy_file = deploy_file.unwrap_or_else(|| {
        files.push((args.path.join("deploy.yml"), fill(DEPLOY_YML, &survey, "")));
        "deploy.yml".to_string()
    });
    files.push((
        args.path.join("upkeep.yml"),
        fill(UPKEEP_YML, &survey, &deploy_file),
    ));
    match survey.forge {
        Some(ForgeChoice::Github) => files.push((
            survey.repository_root.join(GITHUB_WORKFLOW_PATH),
            fill(GITHUB_WORKFLOW, &survey, &deploy_file),
        )),
        Some(ForgeChoice::Gitlab) => files.push((
            survey.repository_root.join(GITLAB_CI_PATH),
            fill(GITLAB_CI, &survey, &deploy_file),
        )),
        None => {}
    }
    let mut out = output::stdout();
    for (path, text) in files {
        let shown = shown_path(&path);
        if path.exists() && !args.force {
            writeln!(out, "kept {shown} (it exists; --force overwrites it)");
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), fs_err::create_dir_all)
            .and_then(|()| fs_err::write(&path, text));
        if let Err(error) = written {
            out.flush();
            print_error(&format!("cannot write: {error}"), None);
            return Outcome::Failed;
        }
        writeln!(out, "wrote {shown}");
    }
    out.flush();
    if survey.forge.is_none() {
        anstream::eprintln!(
            "note: no CI file written: neither the `origin` remote nor existing CI files say whether this is GitHub or GitLab"
        );
        anstream::eprintln!("hint: run `upkeep init --forge github` or `--forge gitlab`");
    }
    Outcome::Success
}

/// `path` as the user would type it: relative to the working directory when it is below it
/// (the repository's root is found canonical, the project's paths are as given).
fn shown_path(path: &Path) -> String {
    let below_cwd = std::env::current_dir()
        .and_then(fs_err::canonicalize)
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    below_cwd
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// The template with the survey's values. Only our own `{{name}}` placeholders are replaced:
/// the CI templates' `${{ ... }}` expressions are GitHub's.
fn fill(template: &str, survey: &Survey, deploy_file: &str) -> String {
    let environment_file = |environment: &str| {
        let own = format!("deploy.{}-{environment}.yml", survey.project);
        if survey.deploy_files.contains(&own) {
            own
        } else {
            deploy_file.to_string()
        }
    };
    template
        .replace("{{project}}", &survey.project)
        .replace("{{project_dir}}", &survey.project_dir)
        .replace("{{php_version}}", &survey.php_version)
        .replace("{{branch}}", &survey.branch)
        .replace("{{staging_deploy_file}}", &environment_file("staging"))
        .replace(
            "{{production_deploy_file}}",
            &environment_file("production"),
        )
}

type SurveyError = (String, String);

fn survey(args: &InitArgs) -> Result<Survey, SurveyError> {
    let composer_path = args.path.join("composer.json");
    let composer = ComposerJson::from_path(&composer_path).map_err(|error| {
        (
            error.to_string(),
            "run `upkeep init` in a Spryker project, the directory with `composer.json` and `src/`"
                .to_string(),
        )
    })?;
    let project = project_name(composer.name.as_deref(), &args.path);
    let deploy_files = deploy_files(&args.path);
    let php_version = deploy_files
        .iter()
        .find_map(|file| {
            let text = fs_err::read_to_string(args.path.join(file)).ok()?;
            image_php_version(&text)
        })
        .or_else(|| composer.platform_php.as_deref().and_then(major_minor))
        .or_else(|| composer.require.get("php").and_then(|php| major_minor(php)))
        .unwrap_or_else(|| "8.3".to_string());
    let source_root = SourceRoot::of_project(&args.path).ok_or_else(|| {
        (
            format!("{} does not exist", args.path.display()),
            "pass the project's directory".to_string(),
        )
    })?;
    let project_dir = source_root.prefix.trim_end_matches('/').to_string();
    let git = Git::open(&source_root.dir).ok();
    let branch = git
        .as_ref()
        .and_then(|git| git.current_branch().ok())
        .filter(|branch| !branch.is_empty() && branch != "HEAD")
        .unwrap_or_else(|| "main".to_string());
    let remote_forge = git
        .as_ref()
        .and_then(|git| git.remote_url("origin").ok())
        .and_then(|url| RemoteRepository::parse(&url).ok())
        .and_then(|remote| match remote.kind {
            ForgeKind::GitHub => Some(ForgeChoice::Github),
            ForgeKind::GitLab => Some(ForgeChoice::Gitlab),
            ForgeKind::Unknown => None,
        });
    let ci_forge = if source_root.dir.join(".github/workflows").is_dir() {
        Some(ForgeChoice::Github)
    } else if source_root.dir.join(GITLAB_CI_PATH).is_file() {
        Some(ForgeChoice::Gitlab)
    } else {
        None
    };
    Ok(Survey {
        project,
        php_version,
        branch,
        deploy_files,
        project_dir: if project_dir.is_empty() {
            ".".to_string()
        } else {
            project_dir
        },
        repository_root: source_root.dir,
        forge: args.forge.or(remote_forge).or(ci_forge),
    })
}

/// `spryker-shop/b2c-demo-shop` gives `b2c-demo-shop`; without a name, the directory's. Only
/// what `SPRYKER_PROJECT_NAME` and host names allow is kept: lower-case letters, digits, `-`.
fn project_name(composer_name: Option<&str>, path: &Path) -> String {
    let directory = std::path::absolute(path).ok().and_then(|path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
    });
    let raw = composer_name
        .and_then(|name| name.rsplit('/').next())
        .map(str::to_string)
        .or(directory)
        .unwrap_or_default();
    let name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "shop".to_string()
    } else {
        name
    }
}

/// The `deploy*.yml` files at the project's root, sorted.
fn deploy_files(root: &Path) -> Vec<String> {
    let mut files: Vec<String> = fs_err::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| {
            name.starts_with("deploy")
                && Path::new(name).extension().is_some_and(|extension| {
                    extension.eq_ignore_ascii_case("yml") || extension.eq_ignore_ascii_case("yaml")
                })
        })
        .collect();
    files.sort();
    files
}

/// The `major.minor` of the first `spryker/php:X.Y` image in a deploy file's text.
fn image_php_version(text: &str) -> Option<String> {
    text.split("spryker/php:").skip(1).find_map(major_minor)
}

/// The first `X.Y` in `text` (`>=8.2`, `8.3.13`, `^8.1 || ^8.2`, `8.3-debian`).
fn major_minor(text: &str) -> Option<String> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let major_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let minor = rest[major_end..].strip_prefix('.')?;
    let minor_end = minor
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor.len());
    (minor_end > 0).then(|| format!("{}.{}", &rest[..major_end], &minor[..minor_end]))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn sample_survey() -> Survey {
        Survey {
            project: "b2c-demo-shop".to_string(),
            php_version: "8.3".to_string(),
            branch: "main".to_string(),
            deploy_files: vec!["deploy.yml".to_string()],
            project_dir: "shop".to_string(),
            repository_root: PathBuf::from("/srv/repo"),
            forge: Some(ForgeChoice::Github),
        }
    }

    /// The `upkeep ...` command lines of a CI file: a line (or a YAML list item, or a `run:`
    /// value) that starts with `upkeep `.
    fn upkeep_commands(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(str::trim_start)
            .map(|line| line.strip_prefix("- ").unwrap_or(line))
            .map(|line| line.strip_prefix("run: ").unwrap_or(line))
            .filter(|line| line.starts_with("upkeep "))
            .map(|line| line.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// Every command the CI templates run parses with the binary's own arguments, so each
    /// names a command and options that exist (`--help` would skip checking the options).
    #[test]
    fn every_upkeep_command_of_the_ci_templates_parses() {
        for (name, template, expected) in [
            ("github", GITHUB_WORKFLOW, ["gate", "upgrade", "upgrade"]),
            ("gitlab", GITLAB_CI, ["gate", "upgrade", "upgrade"]),
        ] {
            let filled = fill(template, &sample_survey(), "deploy.yml");
            assert!(
                !filled.contains("{{project"),
                "{name}: a placeholder is left"
            );
            let commands = upkeep_commands(&filled);
            let subcommands: Vec<&str> =
                commands.iter().map(|command| command[1].as_str()).collect();
            assert_eq!(subcommands, expected, "{name}");
            for command in &commands {
                if let Err(error) = crate::Cli::try_parse_from(command) {
                    panic!("{name}: `{}` does not parse:\n{error}", command.join(" "));
                }
            }
        }
        // The check can fail: a misspelt option does not parse.
        assert!(crate::Cli::try_parse_from(["upkeep", "gate", ".", "--formt", "github"]).is_err());
        assert!(
            crate::Cli::try_parse_from([
                "upkeep",
                "gate",
                ".",
                "--format",
                "sarif=x.sarif",
                "--format",
                "codeclimate"
            ])
            .is_err()
        );
    }

    #[test]
    fn versions_and_names_are_read_as_written() {
        assert_eq!(major_minor(">=8.2").as_deref(), Some("8.2"));
        assert_eq!(major_minor("8.3.13").as_deref(), Some("8.3"));
        assert_eq!(major_minor("^8.1 || ^8.2").as_deref(), Some("8.1"));
        assert_eq!(major_minor("8"), None);
        assert_eq!(
            image_php_version("image:\n  tag: spryker/php:8.4-debian\n").as_deref(),
            Some("8.4")
        );
        assert_eq!(
            project_name(Some("spryker-shop/B2C_demo shop"), Path::new(".")),
            "b2c-demo-shop"
        );
        assert_eq!(project_name(None, Path::new("/srv/My Shop")), "my-shop");
    }
}
