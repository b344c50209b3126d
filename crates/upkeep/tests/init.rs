//! End-to-end tests of `upkeep init` (issue 14, item 9) on real git repositories: what it
//! writes for a GitHub and a GitLab shop, that the files parse (YAML), that `upkeep.yml` and the
//! deploy skeleton load with upkeep-pipeline's readers, that the CI files' report paths are the
//! ones the gate writes, and that nothing is overwritten without `--force`.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::project_file::ProjectFile;

mod common;
use common::server::git;
use common::{assert_contains, assert_exit, stderr, stdout};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn init(dir: &Path, arguments: &[&str]) -> Output {
    Command::cargo_bin("upkeep")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("init")
        .args(arguments)
        .output()
        .unwrap()
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not YAML: {error}\n{text}", path.display()))
}

const COMPOSER: &str = r#"{
    "name": "spryker-shop/b2c-demo-shop",
    "require": {"php": ">=8.2", "spryker/kernel": "^3.0"},
    "config": {"platform": {"php": "8.3.13"}}
}
"#;

/// A repository with the shop in `shop/`, its remote on `remote`.
fn repository(remote: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(&root.join("shop/composer.json"), COMPOSER);
    git(&root, &["init", "-q", "-b", "develop"]);
    git(&root, &["remote", "add", "origin", remote]);
    (dir, root)
}

/// The value after `name=` among the `--format` arguments of the `upkeep gate` line.
fn report_path(ci: &str, format: &str) -> String {
    let gate = ci
        .lines()
        .find(|line| line.contains("upkeep gate "))
        .expect("an `upkeep gate` line");
    gate.split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{format}=")))
        .unwrap_or_else(|| panic!("no {format}= in {gate}"))
        .to_string()
}

#[test]
fn a_github_shop_in_a_subdirectory_gets_its_workflow_pipeline_and_deploy_file() {
    let (_dir, root) = repository("git@github.com:acme/b2c-demo-shop.git");
    let output = init(&root, &["shop"]);
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        "wrote shop/deploy.yml\nwrote shop/upkeep.yml\nwrote .github/workflows/upkeep.yml\n"
    );

    // upkeep.yml loads with the pipeline's reader, and names the written deploy file.
    let project = ProjectFile::load(&root.join("shop/upkeep.yml")).unwrap();
    assert_eq!(project.project, "b2c-demo-shop");
    let names: Vec<&String> = project.environments.keys().collect();
    assert_eq!(names, ["staging", "production"]);
    let production = project.environment("production").unwrap();
    assert!(production.approval);
    assert_eq!(production.branch.as_deref(), Some("develop"));
    assert_eq!(
        production.deploy_file,
        std::path::absolute(root.join("shop/deploy.yml")).unwrap()
    );
    // The skeleton is a deploy file the pipeline reads, on the PHP composer.json resolves for.
    let deploy = DeployFile::load(&root.join("shop/deploy.yml"), &root.join("shop")).unwrap();
    drop(deploy);
    let skeleton = yaml(&root.join("shop/deploy.yml"));
    assert_eq!(skeleton["image"]["tag"], "spryker/php:8.3");
    assert_eq!(skeleton["namespace"], "b2c-demo-shop");

    // The workflow: the gate on pull requests with annotations and SARIF for code scanning,
    // the weekly upgrade with a pull request.
    let workflow_path = root.join(".github/workflows/upkeep.yml");
    let workflow = yaml(&workflow_path);
    let text = std::fs::read_to_string(&workflow_path).unwrap();
    assert!(
        workflow["on"]["pull_request"].is_null() && workflow["on"].get("pull_request").is_some()
    );
    assert_eq!(workflow["on"]["schedule"][0]["cron"], "0 5 * * 1");
    assert_eq!(workflow["on"]["push"]["branches"][0], "develop");
    let gate_steps = workflow["jobs"]["gate"]["steps"].as_array().unwrap();
    let gate = gate_steps
        .iter()
        .find(|step| {
            step["run"]
                .as_str()
                .is_some_and(|run| run.starts_with("upkeep gate"))
        })
        .unwrap();
    assert_eq!(
        gate["run"],
        "upkeep gate shop --format github --format sarif=upkeep.sarif --format text=upkeep-report.txt"
    );
    let upload = gate_steps
        .iter()
        .find(|step| step["uses"] == "github/codeql-action/upload-sarif@v3")
        .unwrap();
    assert_eq!(upload["with"]["sarif_file"], report_path(&text, "sarif"));
    assert_eq!(
        workflow["jobs"]["gate"]["permissions"]["security-events"],
        "write"
    );
    let upgrade = &workflow["jobs"]["upgrade"];
    assert_eq!(upgrade["permissions"]["pull-requests"], "write");
    let apply = upgrade["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|step| {
            step["run"]
                .as_str()
                .filter(|run| run.contains("upgrade apply"))
        })
        .unwrap();
    assert!(apply.contains("upkeep upgrade apply . --pr"), "{apply}");
    assert_eq!(
        upgrade["steps"].as_array().unwrap().last().unwrap()["working-directory"],
        "shop"
    );
    // `${{ ... }}` is GitHub's; every `{{name}}` of ours is filled.
    assert!(
        !text.replace("${{", "").contains("{{"),
        "a placeholder is left:\n{text}"
    );
}

#[test]
fn a_gitlab_shop_gets_code_quality_and_junit_reports_and_keeps_its_deploy_files() {
    let (_dir, root) = repository("https://gitlab.example.com/acme/shop.git");
    write(
        &root.join("shop/deploy.b2c-demo-shop-production.yml"),
        "version: \"0.1\"\nnamespace: shop\nimage:\n  tag: spryker/php:8.4\n",
    );
    write(
        &root.join("shop/deploy.yml"),
        "version: \"0.1\"\nnamespace: shop\nimage:\n  tag: spryker/php:8.4\n",
    );
    let output = init(&root.join("shop"), &[]);
    assert_exit(&output, 0);
    let written = stdout(&output);
    assert!(!written.contains("deploy.yml"), "{written}");
    assert!(written.contains("wrote ./upkeep.yml\n"), "{written}");
    let ci_path = root.join(".gitlab-ci.yml");
    assert!(
        written.ends_with(&format!(
            "wrote {}\n",
            std::fs::canonicalize(&root)
                .unwrap()
                .join(".gitlab-ci.yml")
                .display()
        )),
        "{written}"
    );

    let project = ProjectFile::load(&root.join("shop/upkeep.yml")).unwrap();
    let deploy_file = |environment: &str| {
        project
            .environment(environment)
            .unwrap()
            .deploy_file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    // The repository's root is above the working directory: its file is named in full.
    // Each environment takes its own deploy file when the project has one.
    assert_eq!(
        deploy_file("production"),
        "deploy.b2c-demo-shop-production.yml"
    );
    assert_eq!(deploy_file("staging"), "deploy.yml");

    let ci = yaml(&ci_path);
    let text = std::fs::read_to_string(&ci_path).unwrap();
    let gate = &ci["upkeep:gate"];
    assert_eq!(gate["stage"], "test");
    assert_eq!(
        gate["artifacts"]["reports"]["codequality"],
        report_path(&text, "gitlab")
    );
    assert_eq!(
        gate["artifacts"]["reports"]["junit"],
        report_path(&text, "junit")
    );
    assert_eq!(gate["artifacts"]["when"], "always");
    // The image is the PHP of the deploy files.
    assert_eq!(ci[".upkeep:php"]["image"], "php:8.4-cli-bookworm");
    let upgrade = &ci["upkeep:upgrade"];
    assert_eq!(
        upgrade["rules"][0]["if"],
        "$CI_PIPELINE_SOURCE == \"schedule\" && $UPKEEP_UPGRADE == \"weekly\""
    );
    let script: Vec<&str> = upgrade["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert!(script.contains(&"cd shop"), "{script:?}");
    assert_eq!(script.last(), Some(&"upkeep upgrade apply . --pr"));
    let stages: Vec<&str> = ci["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for job in ["upkeep:install", "upkeep:gate", "upkeep:upgrade"] {
        assert!(
            stages.contains(&ci[job]["stage"].as_str().unwrap()),
            "{job}"
        );
    }
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let (_dir, root) = repository("https://git.example.com/acme/shop.git");
    // The remote does not tell the forge; the existing CI file does.
    write(&root.join(".gitlab-ci.yml"), "# our own pipeline\n");
    write(
        &root.join("shop/upkeep.yml"),
        "project: mine\nenvironments: {}\n",
    );
    let output = init(&root, &["shop"]);
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        "wrote shop/deploy.yml\nkept shop/upkeep.yml (it exists; --force overwrites it)\nkept .gitlab-ci.yml (it exists; --force overwrites it)\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(".gitlab-ci.yml")).unwrap(),
        "# our own pipeline\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("shop/upkeep.yml")).unwrap(),
        "project: mine\nenvironments: {}\n"
    );

    let output = init(&root, &["shop", "--force"]);
    assert_exit(&output, 0);
    assert!(!stdout(&output).contains("kept"), "{}", stdout(&output));
    assert!(
        yaml(&root.join(".gitlab-ci.yml"))
            .get("upkeep:gate")
            .is_some()
    );
    assert_eq!(
        ProjectFile::load(&root.join("shop/upkeep.yml"))
            .unwrap()
            .project,
        "b2c-demo-shop"
    );
}

#[test]
fn without_a_forge_no_ci_file_is_written_and_the_hint_says_how() {
    let (_dir, root) = repository("https://git.example.com/acme/shop.git");
    let output = init(&root, &["shop"]);
    assert_exit(&output, 0);
    assert!(!stdout(&output).contains(".github") && !stdout(&output).contains(".gitlab-ci"));
    assert_contains(
        &stderr(&output),
        "hint: run `upkeep init --forge github` or `--forge gitlab`",
    );
    let output = init(&root, &["shop", "--forge", "github"]);
    assert_contains(&stdout(&output), ".github/workflows/upkeep.yml");
}

#[test]
fn a_directory_without_composer_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = init(dir.path(), &[]);
    assert_exit(&output, 2);
    assert_contains(&stderr(&output), "composer.json");
    assert_contains(
        &stderr(&output),
        "hint: run `upkeep init` in a Spryker project",
    );
    assert!(!dir.path().join("upkeep.yml").exists());
}

/// docs/ci.md shows the templates as they are.
#[test]
fn the_docs_show_the_templates() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(repository.join("docs/ci.md")).unwrap();
    for template in ["github-workflow.yml", "gitlab-ci.yml", "upkeep.yml"] {
        let text =
            std::fs::read_to_string(repository.join("crates/upkeep/templates").join(template))
                .unwrap();
        assert!(
            docs.contains(&text),
            "docs/ci.md does not show templates/{template} as it is"
        );
    }
}
