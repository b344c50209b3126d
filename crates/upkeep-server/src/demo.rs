//! `upkeep serve --demo`: a repository made from the example Spryker shop, with an `upkeep.yml`
//! of two environments (staging deploys at once, production waits for approval), deploy files
//! whose hooks really run, and a build that needs no network. When the server is set up, the
//! first workspace is connected to it and both pipelines start, so that a newcomer sees a whole
//! run — build, gate findings, approval, deployment — in the first minute.

use std::path::Path;

use upkeep_forge::git::{Git, GitError};

const UPKEEP_YML: &str =
    "# The demo's pipelines: staging deploys every push to main at once; production waits
# for a super user's approval.
project: demo-shop
environments:
  staging:
    branch: main
    deploy-file: deploy.demo-shop-staging.yml
    gate: warn
    target:
      local:
        path: ../targets/staging
    buildspec:
      build: ci/build.yml
  production:
    branch: main
    deploy-file: deploy.demo-shop-production.yml
    gate: warn
    approval: true
    target:
      local:
        path: ../targets/production
    buildspec:
      build: ci/build.yml
";

const BUILD: &str = "version: 0.2
phases:
  build:
    commands:
      - echo \"The demo commits its vendor directory, so there is nothing to install.\"
      - find src -name '*.php' | sort
";

const HOOK: &str = "#!/bin/sh
# A stand-in for Spryker's installer in the demo: says where and as what it runs.
release=$(basename \"$(dirname \"$(pwd)\")\")
echo \"$1 of $APPLICATION_ENV in release $release\"
sleep 1
echo \"$1 done\"
";

fn deploy_file(environment: &str) -> String {
    format!(
        "version: \"0.1\"
namespace: demo-{environment}
image:
  tag: spryker/php:8.3
  environment:
    APPLICATION_ENV: {environment}
    SPRYKER_HOOK_BEFORE_DEPLOY: bin/demo-hook pre-deploy
    SPRYKER_HOOK_INSTALL: bin/demo-hook install
    SPRYKER_HOOK_AFTER_DEPLOY: bin/demo-hook post-deploy
"
    )
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot find the example shop at {}", path.display())]
    NoExample { path: std::path::PathBuf },
    #[error("cannot make the demo repository: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot make the demo repository: {0}")]
    Git(#[from] GitError),
}

/// The demo repository under `data_dir` (made from `example` the first time): its `file://`
/// URL and the commit on `main`.
pub fn prepare(example: &Path, data_dir: &Path) -> Result<(String, String), DemoError> {
    let repository = data_dir.join("demo").join("shop");
    let url = format!("file://{}", repository.display());
    if repository.join(".git").is_dir() {
        let commit = Git::open(&repository)?.rev_parse("HEAD")?;
        return Ok((url, commit));
    }
    if !example.join("composer.json").is_file() {
        return Err(DemoError::NoExample {
            path: example.to_path_buf(),
        });
    }
    copy_tree(example, &repository)?;
    fs_err::write(repository.join("upkeep.yml"), UPKEEP_YML)?;
    for environment in ["staging", "production"] {
        fs_err::write(
            repository.join(format!("deploy.demo-shop-{environment}.yml")),
            deploy_file(environment),
        )?;
    }
    fs_err::create_dir_all(repository.join("ci"))?;
    fs_err::write(repository.join("ci/build.yml"), BUILD)?;
    fs_err::create_dir_all(repository.join("bin"))?;
    let hook = repository.join("bin/demo-hook");
    fs_err::write(&hook, HOOK)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    let git = Git::init(&repository)?;
    let commit = git.commit_paths(&["."], "The demo shop")?;
    Ok((url, commit))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs_err::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
