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
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("shop");
        let origin = dir.path().join("origin.git");
        std::fs::create_dir_all(&project).unwrap();
        let repository = format!("file://{}", fixture().display());
        std::fs::write(
            project.join("composer.json"),
            format!(
                r#"{{
    "name": "acme/shop",
    "description": "The upgrader's test shop",
    "require": {{
        "acme/lib": "^1.0",
        "acme/tight": "~1.2.0",
        "spryker/kernel": "^3.70",
        "other/pinned": "^1.0",
        "conflicting/pkg": "^1.0",
        "tools/php84": "^1.0"
    }},
    "repositories": [
        {{"type": "composer", "url": "{repository}"}},
        {{"packagist.org": false}}
    ],
    "config": {{
        "platform": {{"php": "8.2.10"}}
    }}
}}
"#
            ),
        )
        .unwrap();
        std::fs::write(project.join(".gitignore"), "/vendor/\n").unwrap();
        std::fs::write(
            project.join("upkeep.toml"),
            format!(
                "[upgrade]\nreviewers = [\"reviewer\"]\nadvisories = \"{}\"\n",
                fixture().join("advisories").display()
            ),
        )
        .unwrap();
        let shop = Self {
            dir,
            project,
            origin,
        };
        shop.composer(&[
            "update",
            "--with",
            "acme/lib:1.0.0",
            "--with",
            "acme/tight:1.2.0",
            "--with",
            "spryker/kernel:3.70.0",
            "--with",
            "other/pinned:1.0.0",
            "--with",
            "conflicting/pkg:1.0.0",
            "--with",
            "tools/php84:1.0.0",
        ]);
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
