//! Every list of the API comes a page at a time: `?limit=N&cursor=…` in, the list and
//! `next_cursor` out, newest first, each item once; a bad limit or cursor is a 400 naming the
//! field. (Variables are the exception: a workspace's settings, listed whole by name.)

mod common;

use common::{Client, PASSWORD, Server, code, git, set_up};
use serde_json::{Value, json};

/// Follows `next_cursor` from the first page of `path` (`limit` items a page) to the last;
/// returns the items under `key` in order, and how many pages there were.
fn walk(client: &mut Client, path: &str, key: &str, limit: u32) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}?limit={limit}&cursor={cursor}"),
            None => format!("{path}?limit={limit}"),
        };
        let (status, page) = client.call("GET", &url, None);
        assert_eq!(status, 200, "{url}: {page}");
        let got = page[key].as_array().unwrap_or_else(|| panic!("{page}"));
        assert!(got.len() <= limit as usize, "{page}");
        items.extend(got.iter().cloned());
        pages += 1;
        if let Some(next) = page["next_cursor"].as_str() {
            assert_eq!(got.len(), limit as usize, "a page before the last is full");
            cursor = Some(next.to_string());
        } else {
            assert!(page["next_cursor"].is_null(), "{page}");
            break;
        }
        assert!(pages < 50, "{path} does not end");
    }
    (items, pages)
}

fn ids(items: &[Value], key: &str) -> Vec<i64> {
    items
        .iter()
        .map(|item| item[key].as_i64().unwrap())
        .collect()
}

fn strictly_decreasing(ids: &[i64]) -> bool {
    ids.windows(2).all(|pair| pair[0] > pair[1])
}

/// The server's agents, as its admin lists them (never with their tokens).
fn agents_page_by_page(admin: &mut Client) {
    for n in 0..3 {
        let (status, agent) = admin.call(
            "POST",
            "/api/v1/agents",
            Some(&json!({ "name": format!("builder-{n}") })),
        );
        assert_eq!(status, 201, "{agent}");
    }
    let (agents, pages) = walk(admin, "/api/v1/agents", "agents", 2);
    assert_eq!((agents.len(), pages), (3, 2));
    assert!(strictly_decreasing(&ids(&agents, "id")));
    assert_eq!(agents[0]["name"], "builder-2");
    assert!(agents.iter().all(|agent| agent.get("token").is_none()));
}

#[test]
fn every_list_walks_page_by_page_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);
    let w = format!("/api/v1/workspaces/{workspace}");

    for n in 0..5 {
        let (status, _) = admin.call(
            "POST",
            "/api/v1/tokens",
            Some(&json!({ "name": format!("machine {n}") })),
        );
        assert_eq!(status, 201);
    }
    let (tokens, pages) = walk(&mut admin, "/api/v1/tokens", "tokens", 2);
    assert_eq!((tokens.len(), pages), (5, 3));
    assert!(strictly_decreasing(&ids(&tokens, "id")));
    assert_eq!(tokens[0]["name"], "machine 4");

    agents_page_by_page(&mut admin);

    for n in 0..3 {
        let (status, invitation) = admin.call(
            "POST",
            &format!("{w}/invitations"),
            Some(&json!({ "email": format!("dev{n}@agency.test"), "role": "regular_user" })),
        );
        assert_eq!(status, 201, "{invitation}");
        if n < 2 {
            let (status, body) = server.client().call(
                "POST",
                "/api/v1/invitations/accept",
                Some(&json!({ "token": invitation["token"], "display_name": "Dev", "password": PASSWORD })),
            );
            assert_eq!(status, 200, "{body}");
        }
    }
    let (invitations, _) = walk(&mut admin, &format!("{w}/invitations"), "invitations", 2);
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0]["email"], "dev2@agency.test");

    let (members, pages) = walk(&mut admin, &format!("{w}/members"), "members", 2);
    assert_eq!((members.len(), pages), (3, 2));
    assert!(strictly_decreasing(&ids(&members, "account")));
    assert_eq!(members[2]["email"], "ops@agency.test");

    let (entries, _) = walk(&mut admin, &format!("{w}/audit"), "entries", 3);
    assert!(strictly_decreasing(&ids(&entries, "id")));
    assert_eq!(entries.last().unwrap()["action"], "server.setup");
    // setup, 3 invitations, 2 acceptances
    assert_eq!(entries.len(), 6, "{entries:#?}");

    // Runs of a repository without branches: queued, then failed, listed all the same.
    git(dir.path(), &["init", "-q", "--bare", "empty.git"]);
    let (status, body) = admin.call(
        "PUT",
        &format!("{w}/repository"),
        Some(&json!({ "url": format!("file://{}", dir.path().join("empty.git").display()) })),
    );
    assert_eq!(status, 200, "{body}");
    let mut started = Vec::new();
    for environment in ["staging", "production", "staging", "staging"] {
        let (status, run) = admin.call(
            "POST",
            &format!("{w}/environments/{environment}/runs"),
            Some(&json!({})),
        );
        assert_eq!(status, 202, "{run}");
        started.push(run["run_id"].as_str().unwrap().to_string());
    }
    let run_ids = |runs: &[Value]| -> Vec<String> {
        runs.iter()
            .map(|run| run["run_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (staging, pages) = walk(
        &mut admin,
        &format!("{w}/environments/staging/runs"),
        "runs",
        2,
    );
    assert_eq!(pages, 2);
    assert_eq!(
        run_ids(&staging),
        [started[3].clone(), started[2].clone(), started[0].clone()]
    );
    let (all, _) = walk(&mut admin, &format!("{w}/runs"), "runs", 3);
    let newest_first: Vec<String> = started.iter().rev().cloned().collect();
    assert_eq!(run_ids(&all), newest_first);

    // Deliveries: refused ones are recorded too.
    for n in 0..3 {
        let (status, _) = server.client().raw(
            "POST",
            &format!("/api/v1/hooks/gitlab/{workspace}"),
            Some("{}"),
            false,
        );
        assert_eq!(status, 401, "delivery {n}");
    }
    let (deliveries, pages) = walk(&mut admin, &format!("{w}/deliveries"), "deliveries", 2);
    assert_eq!((deliveries.len(), pages), (3, 2));
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery["verdict"] == "unsigned")
    );
}

#[test]
fn bad_limits_and_cursors_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);
    let audit = format!("/api/v1/workspaces/{workspace}/audit");
    for limit in ["0", "101", "many", "-2"] {
        let (status, answer) = admin.call("GET", &format!("{audit}?limit={limit}"), None);
        assert_eq!(
            (status, code(&answer), answer["error"]["field"].as_str()),
            (400, "invalid_field", Some("limit")),
            "{answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`limit`"),
            "{answer}"
        );
    }
    // A cursor of another list, and one that is no cursor at all.
    for n in 0..2 {
        admin.call(
            "POST",
            "/api/v1/tokens",
            Some(&json!({ "name": format!("t{n}") })),
        );
    }
    let (_, tokens) = admin.call("GET", "/api/v1/tokens?limit=1", None);
    let of_tokens = tokens["next_cursor"].as_str().unwrap().to_string();
    let (status, _) = admin.call("GET", &format!("/api/v1/tokens?cursor={of_tokens}"), None);
    assert_eq!(status, 200);
    for cursor in [of_tokens.as_str(), "garbage", "MTIz"] {
        let (status, answer) = admin.call("GET", &format!("{audit}?cursor={cursor}"), None);
        assert_eq!(
            (status, code(&answer), answer["error"]["field"].as_str()),
            (400, "invalid_cursor", Some("cursor")),
            "{answer}"
        );
    }
    // So is a log offset that is none.
    let logs =
        format!("/api/v1/workspaces/{workspace}/runs/20261201T080000.000Z-00000001/logs/install");
    for path in [
        format!("{logs}?offset=-1"),
        format!("{logs}/events?offset=start"),
    ] {
        let (status, answer) = admin.call("GET", &path, None);
        assert_eq!(
            (status, code(&answer), answer["error"]["field"].as_str()),
            (400, "invalid_field", Some("offset")),
            "{answer}"
        );
    }
    // Path parameters of the wrong type are named too, in the API's error format.
    let (status, answer) = admin.call("GET", "/api/v1/workspaces/first/members", None);
    assert_eq!(
        (status, code(&answer), answer["error"]["field"].as_str()),
        (400, "invalid_field", Some("workspace")),
        "{answer}"
    );
}
