//! A long step log read the way a page shows it, over loopback HTTP: a real run whose build
//! prints 100,000 lines, its tail first, then page after page back to the start. Every line
//! comes exactly once and in order, the same as one read from offset 0; bad or clashing
//! parameters are refused naming the field.

mod common;

use common::{Client, code, connected_server, shop_remote_edited, start_run, wait_for_status};
use serde_json::Value;

const LINES: usize = 100_000;

fn texts(page: &Value) -> Vec<String> {
    page["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["text"].as_str().unwrap().to_string())
        .collect()
}

fn get(client: &mut Client, path: &str) -> Value {
    let (status, body) = client.call("GET", path, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn a_long_log_reads_from_its_tail_back_to_its_start_with_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = shop_remote_edited(dir.path(), |work| {
        let build = work.join("ci/build.yml");
        let text = std::fs::read_to_string(&build).unwrap().replace(
            "      - cd public\n",
            &format!("      - seq 1 {LINES}\n      - cd public\n"),
        );
        std::fs::write(build, text).unwrap();
    });
    let (_server, mut admin, workspace) = connected_server(dir.path(), &url);
    let run = start_run(&mut admin, workspace, "staging");
    wait_for_status(&mut admin, workspace, "staging", "succeeded");
    let log = format!("/api/v1/workspaces/{workspace}/runs/{run}/logs/build");

    let whole = get(&mut admin, &format!("{log}?offset=0"));
    let all = texts(&whole);
    let numbers: Vec<&String> = all
        .iter()
        .filter(|text| text.parse::<usize>().is_ok())
        .collect();
    assert_eq!(numbers.len(), LINES, "the build printed every number");
    assert_eq!(whole["previous_offset"], Value::Null);
    let end = whole["next_offset"].as_u64().unwrap();

    // The tail ends where the log does; pages back cover the rest, each ending where the
    // page after it starts.
    let tail = get(&mut admin, &format!("{log}?tail=1000"));
    assert_eq!(
        tail["next_offset"].as_u64(),
        Some(end),
        "{}",
        tail["offset"]
    );
    assert_eq!(texts(&tail), all[all.len() - 1000..]);
    let mut pages = vec![texts(&tail)];
    let mut previous = tail["previous_offset"].clone();
    let mut starts = tail["offset"].as_u64().unwrap();
    while let Some(before) = previous.as_u64() {
        assert_eq!(before, starts);
        let page = get(&mut admin, &format!("{log}?before={before}&limit=7000"));
        assert_eq!(page["next_offset"].as_u64(), Some(before));
        let lines = texts(&page);
        assert!(!lines.is_empty() && lines.len() <= 7000, "{}", lines.len());
        pages.push(lines);
        starts = page["offset"].as_u64().unwrap();
        previous = page["previous_offset"].clone();
    }
    assert_eq!(starts, 0);
    assert!(pages.len() > LINES / 7000, "{} pages", pages.len());
    let back_to_start: Vec<String> = pages.into_iter().rev().flatten().collect();
    assert_eq!(
        back_to_start, all,
        "tail and pages back give every line once"
    );

    // Without `limit`, a page back holds 200 lines; an offset inside a line counts the lines
    // that end before it.
    let inside = end - 3;
    let page = get(&mut admin, &format!("{log}?before={inside}"));
    assert_eq!(texts(&page), all[all.len() - 201..all.len() - 1]);

    for (query, field) in [
        ("tail=0", "tail"),
        ("tail=10001", "tail"),
        ("tail=many", "tail"),
        ("tail=5&offset=0", "tail"),
        ("tail=5&before=100", "tail"),
        ("tail=5&limit=3", "limit"),
        ("before=-1", "before"),
        ("before=100&limit=0", "limit"),
        ("before=100&limit=10001", "limit"),
        ("before=100&offset=0", "before"),
        ("limit=5", "limit"),
        ("offset=x", "offset"),
    ] {
        let (status, body) = admin.call("GET", &format!("{log}?{query}"), None);
        assert_eq!(
            (status, code(&body), body["error"]["field"].as_str()),
            (400, "invalid_field", Some(field)),
            "{query}: {body}"
        );
    }
}
