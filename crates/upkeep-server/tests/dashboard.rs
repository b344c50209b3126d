//! What the dashboard and the run page read, end to end over loopback HTTP against real runs
//! of the fixture shop (with a dependency provider the gate finds fault with, as warnings):
//! the workspace overview before and after the repository is cloned, the environments of
//! `upkeep.yml` with their last runs, gate verdicts and the run waiting for approval; the
//! environments' status badges, for members and through the public link with its key; and a
//! run's gate findings grouped by rule with their excerpts, from the report, the checkout or
//! the source line, a damaged report answered as such.

mod common;

use std::path::{Path, PathBuf};

use common::{
    Client, Server, code, invite_regular_user, set_up, shop_remote_edited, start_run,
    wait_for_status,
};
use serde_json::{Value, json};

/// Two plugins built with a configuration read: two `single-plugin-argument` findings, on
/// lines 8 and 13.
const PROVIDER: &str = "<?php
namespace Pyz\\Zed\\Console;

class ConsoleDependencyProvider
{
    protected function getMonitoringConsolePlugin(): MonitoringConsolePlugin
    {
        return new MonitoringConsolePlugin($this->getConfig()->getMonitoringOptions());
    }

    protected function getQueuePlugin(): QueuePlugin
    {
        return new QueuePlugin($this->getConfig()->getQueueOptions());
    }
}
";
const PROVIDER_FILE: &str = "src/Pyz/Zed/Console/ConsoleDependencyProvider.php";

/// An answer that is not JSON: status, content type, cache control and body.
fn get_raw(url: &str, client: Option<&Client>) -> (u16, String, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    if let Some(cookie) = client.and_then(|client| client.cookie.as_ref()) {
        request = request.header("cookie", cookie);
    }
    let mut response = request.call().unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        cache,
        response.body_mut().read_to_string().unwrap(),
    )
}

fn overview(client: &mut Client, workspace: i64) -> Value {
    let (status, body) = client.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/overview"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn environment<'a>(overview: &'a Value, name: &str) -> &'a Value {
    overview["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|environment| environment["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {overview}"))
}

#[test]
fn the_dashboard_badges_and_findings_show_the_runs_as_they_stand() {
    let dir = tempfile::tempdir().unwrap();
    let (url, commit) = shop_remote_edited(dir.path(), |work| {
        std::fs::create_dir_all(work.join("src/Pyz/Zed/Console")).unwrap();
        std::fs::write(work.join(PROVIDER_FILE), PROVIDER).unwrap();
        let toml = work.join("upkeep.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(
            toml,
            format!("{text}\n[gate.severity]\nsingle-plugin-argument = \"warning\"\n"),
        )
        .unwrap();
    });
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let (mut admin, workspace) = set_up(&server);

    // Nothing connected: no environments, and the reason; the Upgrader's schedule.
    let empty = overview(&mut admin, workspace);
    assert_eq!(empty["environments_from"], "runs");
    assert!(
        empty["problem"].as_str().unwrap().contains("no repository"),
        "{empty}"
    );
    assert_eq!(empty["environments"], json!([]));
    assert_eq!(empty["upgrader"]["enabled"], true);
    assert!(empty["upgrader"]["next_run_at"].is_string(), "{empty}");
    assert_eq!(empty["upgrader"]["last_run"], Value::Null);
    assert_eq!(empty["upgrader"]["pull_request"], Value::Null);

    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": url })),
    );
    assert_eq!(status, 200, "{body}");
    let not_cloned = overview(&mut admin, workspace);
    assert!(
        not_cloned["problem"]
            .as_str()
            .unwrap()
            .contains("not been cloned yet"),
        "{not_cloned}"
    );
    let mut developer = invite_regular_user(&server, &mut admin, workspace);

    let staging_run = start_run(&mut developer, workspace, "staging");
    wait_for_status(&mut admin, workspace, "staging", "succeeded");
    let production_run = start_run(&mut admin, workspace, "production");
    wait_for_status(&mut admin, workspace, "production", "waiting_for_approval");
    // An environment `upkeep.yml` does not declare: its run fails before any gate.
    let stray_run = start_run(&mut admin, workspace, "nowhere");
    wait_for_status(&mut admin, workspace, "nowhere", "failed");

    let seen = overview(&mut admin, workspace);
    environments_with_their_runs(&seen, &commit, (&staging_run, &production_run));
    badges(&server, &mut developer, &seen, workspace);
    findings(
        &mut developer,
        workspace,
        &staging_run,
        &production_run,
        &stray_run,
    );
    findings_fall_back(&mut developer, &data_dir, workspace, &staging_run);
}

/// The environments of `upkeep.yml` in its order, then one that only has runs, each with its
/// last run, gate verdict and waiting runs.
fn environments_with_their_runs(
    seen: &Value,
    commit: &str,
    (staging_run, production_run): (&str, &str),
) {
    assert_eq!(seen["environments_from"], "upkeep.yml", "{seen}");
    assert_eq!(seen["problem"], Value::Null);
    let names: Vec<&str> = seen["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|environment| environment["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["staging", "production", "nowhere"]);
    let staging = environment(seen, "staging");
    assert_eq!(staging["pipeline"], "*** staging Pipeline ***");
    assert_eq!(
        (
            &staging["declared"],
            &staging["branch"],
            &staging["approval"],
            &staging["gate_policy"]
        ),
        (&json!(true), &json!("main"), &json!(false), &json!("warn"))
    );
    let last = &staging["last_run"];
    assert_eq!(last["run_id"], staging_run);
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["trigger"], "manual");
    assert_eq!(last["requested_by"], "dev@agency.test");
    assert_eq!(last["commit"], commit);
    assert!(last["finished_at"].is_string(), "{last}");
    assert_eq!(
        last["gate"],
        json!({ "verdict": "passed", "findings": 2, "errors": 0, "warnings": 2, "error": null })
    );
    assert_eq!(staging["waiting_for_approval"], json!([]));
    let production = environment(seen, "production");
    assert_eq!(production["last_run"]["status"], "waiting_for_approval");
    assert_eq!(production["approval"], true);
    assert_eq!(
        production["waiting_for_approval"][0]["run_id"],
        production_run
    );
    assert_eq!(production["waiting_for_approval"][0]["commit"], commit);
    let stray = environment(seen, "nowhere");
    assert_eq!(stray["declared"], false);
    assert_eq!(stray["last_run"]["status"], "failed");
    assert_eq!(stray["last_run"]["gate"], Value::Null);
}

/// The members' badges, and the public one: its link only for super users, its key for one
/// badge only, every wrong link the same 404.
fn badges(server: &Server, developer: &mut Client, seen: &Value, workspace: i64) {
    let staging = environment(seen, "staging");
    let members = format!(
        "{}{}",
        server.url,
        staging["badge"]["url"].as_str().unwrap()
    );
    assert_eq!(
        members,
        format!(
            "{}/api/v1/workspaces/{workspace}/environments/staging/badge.svg",
            server.url
        )
    );
    let (status, content_type, cache, svg) = get_raw(&members, Some(developer));
    assert_eq!(status, 200, "{svg}");
    assert_eq!(content_type, "image/svg+xml; charset=utf-8");
    assert_eq!(cache, "no-cache");
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(
        svg.contains(">staging</text>") && svg.contains(">passing</text>"),
        "{svg}"
    );
    let (status, _, _, anonymous) = get_raw(&members, None);
    assert_eq!(status, 401, "{anonymous}");
    for (environment, word) in [
        ("production", "waiting"),
        ("nowhere", "failed"),
        ("qa", "unknown"),
    ] {
        let url = format!(
            "{}/api/v1/workspaces/{workspace}/environments/{environment}/badge.svg",
            server.url
        );
        let (status, _, _, svg) = get_raw(&url, Some(developer));
        assert_eq!(status, 200);
        assert!(
            svg.contains(&format!(">{word}</text>")),
            "{environment}: {svg}"
        );
    }

    // The public link: in the super user's overview only, and it needs no sign-in.
    let public = staging["badge"]["public_url"].as_str().unwrap();
    assert!(public.starts_with(&format!(
        "{}/badges/{workspace}/staging.svg?key=",
        server.url
    )));
    assert!(
        environment(&overview(developer, workspace), "staging")["badge"]
            .get("public_url")
            .is_none(),
        "a regular user got the public link"
    );
    let (status, content_type, cache, svg) = get_raw(public, None);
    assert_eq!(
        (status, content_type.as_str(), cache.as_str()),
        (200, "image/svg+xml; charset=utf-8", "no-cache")
    );
    assert!(svg.contains(">passing</text>"), "{svg}");
    let key = public.rsplit_once("key=").unwrap().1;
    let (_, _, _, refused) = get_raw(
        &format!("{}/badges/{workspace}/staging.svg?key=wrong", server.url),
        None,
    );
    for wrong in [
        format!("/badges/{workspace}/production.svg?key={key}"),
        format!("/badges/999/staging.svg?key={key}"),
        format!("/badges/{workspace}/staging.png?key={key}"),
        format!("/badges/{workspace}/staging.svg"),
    ] {
        let (status, _, _, body) = get_raw(&format!("{}{wrong}", server.url), None);
        assert_eq!((status, body.as_str()), (404, refused.as_str()), "{wrong}");
    }
    let refused: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(code(&refused), "not_found");
}

/// A run's findings by rule, with the excerpts the run kept.
fn findings(
    developer: &mut Client,
    workspace: i64,
    staging_run: &str,
    production_run: &str,
    stray_run: &str,
) {
    let path = |run: &str| format!("/api/v1/workspaces/{workspace}/runs/{run}/findings");
    let (status, found) = developer.call("GET", &path(staging_run), None);
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        (
            &found["verdict"],
            &found["policy"],
            &found["findings"],
            &found["warnings"]
        ),
        (&json!("passed"), &json!("warn"), &json!(2), &json!(2))
    );
    let rules = found["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{found}");
    let rule = &rules[0];
    assert_eq!(rule["rule"], "single-plugin-argument");
    assert_eq!(rule["spryker_id"], "SINGLE_PLUGIN_ARGUMENT");
    assert_eq!(rule["severity"], "warning");
    assert!(
        rule["guideline"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.spryker.com/"),
        "{rule}"
    );
    assert_eq!(rule["count"], 2);
    let first = &rule["findings"][0];
    assert_eq!(first["file"], PROVIDER_FILE);
    assert_eq!(first["line"], 8);
    assert!(first["column"].as_u64().unwrap() > 1, "{first}");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("MonitoringConsolePlugin"),
        "{first}"
    );
    let lines: Vec<&str> = PROVIDER.lines().collect();
    assert_eq!(
        first["excerpt"],
        json!({ "first_line": 6, "lines": lines[5..10], "source": "report" })
    );
    assert_eq!(rule["findings"][1]["line"], 13);
    assert_eq!(
        rule["findings"][1]["excerpt"]["lines"],
        json!(lines[10..15])
    );

    // The production run checked the same commit.
    let (status, same) = developer.call("GET", &path(production_run), None);
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["rules"], found["rules"]);
    // A run that failed before its gate has no findings to show.
    let (status, none) = developer.call("GET", &path(stray_run), None);
    assert_eq!((status, code(&none)), (404, "not_found"), "{none}");
    assert!(
        none["error"]["message"].as_str().unwrap().contains("gate"),
        "{none}"
    );
}

/// A report written without excerpts: from the checkout while it is there, else the source
/// line; a damaged report is a clear 500, a missing one a 404.
fn findings_fall_back(developer: &mut Client, data_dir: &Path, workspace: i64, run: &str) {
    let run_dir: PathBuf = data_dir.join(format!("workspaces/{workspace}/state/runs/{run}"));
    let report_path = run_dir.join("gate-report.json");
    let mut report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    for finding in report["findings"].as_array_mut().unwrap() {
        finding.as_object_mut().unwrap().remove("excerpt");
    }
    std::fs::write(&report_path, report.to_string()).unwrap();
    let checkout = run_dir.join("checkout");
    std::fs::create_dir_all(checkout.join("src/Pyz/Zed/Console")).unwrap();
    let numbered: Vec<String> = (1..=15).map(|n| format!("checkout line {n}")).collect();
    std::fs::write(checkout.join(PROVIDER_FILE), numbered.join("\n")).unwrap();
    let path = format!("/api/v1/workspaces/{workspace}/runs/{run}/findings");
    let excerpt = |developer: &mut Client| {
        let (status, found) = developer.call("GET", &path, None);
        assert_eq!(status, 200, "{found}");
        found["rules"][0]["findings"][0]["excerpt"].clone()
    };
    assert_eq!(
        excerpt(developer),
        json!({ "first_line": 6, "lines": numbered[5..10], "source": "checkout" })
    );

    std::fs::remove_dir_all(&checkout).unwrap();
    assert_eq!(excerpt(developer), Value::Null);
    report["findings"][0]["source_line"] =
        json!("        return new MonitoringConsolePlugin(<script>);");
    std::fs::write(&report_path, report.to_string()).unwrap();
    assert_eq!(
        excerpt(developer),
        json!({
            "first_line": 8,
            "lines": ["        return new MonitoringConsolePlugin(<script>);"],
            "source": "source_line",
        })
    );

    std::fs::write(&report_path, "{\"findings\": [{\"rule\": ").unwrap();
    let (status, damaged) = developer.call("GET", &path, None);
    assert_eq!((status, code(&damaged)), (500, "internal"), "{damaged}");
    assert!(
        damaged["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gate report is damaged"),
        "{damaged}"
    );
    std::fs::remove_file(&report_path).unwrap();
    let (status, gone) = developer.call("GET", &path, None);
    assert_eq!((status, code(&gone)), (404, "not_found"), "{gone}");
}
