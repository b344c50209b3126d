//! The upgrader's test project, shared by the tests of the command line (`crates/upkeep`) and of
//! the server (`crates/upkeep-server`), which include this file with `#[path]`: a Composer
//! project locked at old versions of the packages of `tests/fixtures/upgrade` (a `file://`
//! Composer repository with several vendors, minors, patches, a major, an update that cannot
//! resolve and one that needs a newer PHP; an advisory), committed with real git on `main` and
//! pushed to a bare `origin`, made with the real `composer` program.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Composer repository of the upgrader's tests (`tests/fixtures/upgrade`).
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/upgrade")
}

/// These tests run the real Composer: a missing one fails them, it never skips them.
pub fn require_composer() {
    let found = Command::new("composer")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "the upgrader's tests run the real `composer`; install it (Debian: apt-get install composer; scripts/test.sh does)"
    );
}

/// A Composer project locked at old versions of the fixture repository's packages, in a git
/// repository on `main` pushed to a bare `origin`.
pub struct ComposerShop {
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    pub origin: PathBuf,
}

impl ComposerShop {
    /// A project locked at the old versions, committed and pushed to a bare `origin`.
    pub fn new() -> Self {
        let repository = format!("file://{}", fixture().display());
        let upkeep_toml = format!(
            "[upgrade]\nreviewers = [\"reviewer\"]\nadvisories = \"{}\"\n",
            fixture().join("advisories").display()
        );
        Self::build(
            &repository,
            &[
                ("acme/lib", "^1.0", "1.0.0"),
                ("acme/tight", "~1.2.0", "1.2.0"),
                ("spryker/kernel", "^3.70", "3.70.0"),
                ("other/pinned", "^1.0", "1.0.0"),
                ("conflicting/pkg", "^1.0", "1.0.0"),
                ("tools/php84", "^1.0", "1.0.0"),
            ],
            &[],
            &upkeep_toml,
        )
    }

    /// A project of its own Composer repository: `packages` is the `packages` object of its
    /// `packages.json` (metapackages, so nothing is downloaded), `require` the root
    /// requirements (name, constraint, version to lock), `also_locked` dependencies locked at a
    /// version, `upkeep_toml` the settings file.
    pub fn with_repository(
        packages: &serde_json::Value,
        require: &[(&str, &str, &str)],
        also_locked: &[(&str, &str)],
        upkeep_toml: &str,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repository = dir.path().join("repository");
        std::fs::create_dir_all(&repository).unwrap();
        std::fs::write(
            repository.join("packages.json"),
            serde_json::to_vec_pretty(&serde_json::json!({ "packages": packages })).unwrap(),
        )
        .unwrap();
        Self::build_in(
            dir,
            &format!("file://{}", repository.display()),
            require,
            also_locked,
            upkeep_toml,
        )
    }

    fn build(
        repository: &str,
        require: &[(&str, &str, &str)],
        also_locked: &[(&str, &str)],
        upkeep_toml: &str,
    ) -> Self {
        Self::build_in(
            tempfile::tempdir().unwrap(),
            repository,
            require,
            also_locked,
            upkeep_toml,
        )
    }

    fn build_in(
        dir: tempfile::TempDir,
        repository: &str,
        require: &[(&str, &str, &str)],
        also_locked: &[(&str, &str)],
        upkeep_toml: &str,
    ) -> Self {
        let project = dir.path().join("shop");
        let origin = dir.path().join("origin.git");
        std::fs::create_dir_all(&project).unwrap();
        let requirements: Vec<String> = require
            .iter()
            .map(|(name, constraint, _)| format!("        \"{name}\": \"{constraint}\""))
            .collect();
        std::fs::write(
            project.join("composer.json"),
            format!(
                r#"{{
    "name": "acme/shop",
    "description": "The upgrader's test shop",
    "require": {{
{}
    }},
    "repositories": [
        {{"type": "composer", "url": "{repository}"}},
        {{"packagist.org": false}}
    ],
    "config": {{
        "platform": {{"php": "8.2.10"}}
    }}
}}
"#,
                requirements.join(",\n")
            ),
        )
        .unwrap();
        std::fs::write(project.join(".gitignore"), "/vendor/\n").unwrap();
        std::fs::write(project.join("upkeep.toml"), upkeep_toml).unwrap();
        let shop = Self {
            dir,
            project,
            origin,
        };
        let pins: Vec<String> = require
            .iter()
            .map(|(name, _, version)| (*name, *version))
            .chain(also_locked.iter().copied())
            .map(|(name, version)| format!("{name}:{version}"))
            .collect();
        let mut arguments = vec!["update"];
        for pin in &pins {
            arguments.extend(["--with", pin.as_str()]);
        }
        shop.composer(&arguments);
        shop.git(&["init", "-q", "-b", "main"]);
        shop.git(&["add", "-A"]);
        shop.git(&["commit", "-q", "-m", "shop"]);
        let status = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&shop.origin)
            .status()
            .unwrap();
        assert!(status.success());
        shop.git(&["remote", "add", "origin", shop.origin.to_str().unwrap()]);
        shop.git(&["push", "-q", "origin", "main"]);
        shop
    }

    /// The version `name` is locked at in `composer.lock` (of the working tree).
    pub fn locked(&self, name: &str) -> Option<String> {
        let lock: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.project.join("composer.lock")).unwrap())
                .unwrap();
        lock["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|package| package["name"] == name)
            .map(|package| package["version"].as_str().unwrap().to_string())
    }

    /// The body of `PUT …/repository` that connects a server to this shop's `origin` as the
    /// repository `acme/shop` of the GitHub double at `api_base`, with its `token`.
    pub fn github_connection(&self, api_base: &str, token: &str) -> serde_json::Value {
        serde_json::json!({
            "provider": "github",
            "url": format!("file://{}", self.origin.display()),
            "repository": "acme/shop",
            "token": token,
            "api_base": api_base,
        })
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn composer(&self, arguments: &[&str]) {
        let output = Command::new("composer")
            .args(arguments)
            .arg("--no-interaction")
            .current_dir(&self.project)
            .env("COMPOSER_HOME", self.home().join("composer"))
            .env("COMPOSER_CACHE_DIR", self.home().join("composer-cache"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "composer {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn git(&self, arguments: &[&str]) -> String {
        let output = Command::new("git")
            .current_dir(&self.project)
            .args(["-c", "user.email=dev@example.test", "-c", "user.name=Dev"])
            .args(arguments)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}
