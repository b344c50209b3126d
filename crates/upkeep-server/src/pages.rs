//! The first pages a browser gets, so that the server is usable at once: set the server up
//! (from the setup link), sign in, accept an invitation, see one's workspaces with their latest
//! runs, start a run, approve or reject a waiting one, and read a run's stages and logs.
//! Server-rendered HTML with a few lines of script that call the JSON API (which checks roles
//! and CSRF as for any client); no build step, nothing loaded from elsewhere. The full web UI
//! comes with its own issue.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use jiff::Timestamp;
use serde::Deserialize;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::record::{RunId, RunStatus};
use upkeep_store::{
    AccountStore, RepositoryStore, Role, RunStore, SessionStore, WorkspaceId, WorkspaceStore,
};

use crate::AppState;
use crate::auth::Caller;

/// Text as HTML: `<`, `>`, `&`, quotes escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%}\
td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}\
.succeeded{color:#167a2c}.failed,.rejected,.interrupted,.timed_out,.cancelled{color:#b3261e}\
.running,.queued{color:#0b57d0}.waiting_for_approval{color:#a05a00}\
pre{background:#f5f5f5;padding:.6rem;overflow:auto;font-size:13px}\
form{margin:1rem 0}input{margin:.2rem 0;padding:.3rem;min-width:16rem}label{display:block}\
.error{color:#b3261e}";

/// Sends a form's fields as JSON to `url` (with the session's CSRF token when there is one)
/// and goes to `then`, or shows the API's error message.
const SCRIPT: &str = r"<script>
async function send(form, url, then, csrf) {
  const body = {};
  for (const [key, value] of new FormData(form)) { if (value !== '') body[key] = value; }
  const headers = {'content-type': 'application/json'};
  if (csrf) headers['x-csrf-token'] = csrf;
  const response = await fetch(url, {method: form.dataset.method || 'POST', headers, body: JSON.stringify(body)});
  if (response.ok) { location.href = then; return false; }
  const answer = await response.json().catch(() => ({}));
  form.querySelector('.error').textContent = (answer.error && answer.error.message) || response.statusText;
  return false;
}
</script>";

pub(crate) fn page(title: &str, refresh: bool, body: &str) -> Html<String> {
    let refresh = if refresh {
        r#"<meta http-equiv="refresh" content="2">"#
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{refresh}\
         <title>{} · Upkeep</title><style>{STYLE}</style>{SCRIPT}</head><body>{body}</body></html>",
        escape(title)
    ))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn setup(Query(query): Query<TokenQuery>) -> Html<String> {
    let token = escape(&query.token);
    page(
        "Set up the server",
        false,
        &format!(
            "<h1>Set up this Upkeep server</h1><p>The account you create is the server's admin and a \
             super user of the first workspace.</p>\
             <form onsubmit=\"return send(this, '/api/v1/setup', '/')\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <label>Email <input name=\"email\" type=\"email\" required></label>\
             <label>Name <input name=\"display_name\" required></label>\
             <label>Password (10 characters or more) <input name=\"password\" type=\"password\" minlength=\"10\" required></label>\
             <label>First workspace <input name=\"workspace\" required></label>\
             <button>Create the admin account</button><p class=\"error\"></p></form>"
        ),
    )
}

pub async fn accept_invitation(Query(query): Query<TokenQuery>) -> Html<String> {
    let token = escape(&query.token);
    page(
        "Join a workspace",
        false,
        &format!(
            "<h1>Join a workspace</h1><p>You were invited to an Upkeep workspace. Choose your name and \
             password (if you have an account, sign in first, then open the link again).</p>\
             <form onsubmit=\"return send(this, '/api/v1/invitations/accept', '/')\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <label>Name <input name=\"display_name\" required></label>\
             <label>Password (10 characters or more) <input name=\"password\" type=\"password\" minlength=\"10\" required></label>\
             <button>Join</button><p class=\"error\"></p></form>"
        ),
    )
}

fn sign_in_form(set_up: bool) -> String {
    let intro = if set_up {
        "<p>Sign in to see your workspaces.</p>"
    } else {
        "<p>This server is not set up yet: open the one-time setup link that <code>upkeep serve</code> printed.</p>"
    };
    format!(
        "<h1>Upkeep</h1>{intro}<form onsubmit=\"return send(this, '/api/v1/session', '/')\">\
         <label>Email <input name=\"email\" type=\"email\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" required></label>\
         <button>Sign in</button><p class=\"error\"></p></form>"
    )
}

/// The session's CSRF token, for the page's scripts.
async fn csrf_of(state: &AppState, caller: &Caller) -> String {
    let Some(session) = &caller.session else {
        return String::new();
    };
    state
        .inner
        .store
        .session(session, Timestamp::now())
        .await
        .ok()
        .flatten()
        .map(|session| session.csrf_token)
        .unwrap_or_default()
}

pub async fn home(State(state): State<AppState>, caller: Option<Caller>) -> Html<String> {
    let store = &state.inner.store;
    let Some(caller) = caller else {
        let set_up = store.count_accounts().await.unwrap_or(0) > 0;
        return page("Sign in", false, &sign_in_form(set_up));
    };
    let csrf = escape(&csrf_of(&state, &caller).await);
    let mut body = format!(
        "<h1>Upkeep</h1><p>Signed in as {} · <a href=\"#\" onclick=\"fetch('/api/v1/session',{{method:'DELETE',headers:{{'x-csrf-token':'{csrf}'}}}}).then(()=>location.reload());return false\">sign out</a></p>",
        escape(&caller.account.email)
    );
    let mut refresh = false;
    for (workspace, role) in store
        .workspaces_of(caller.account.id)
        .await
        .unwrap_or_default()
    {
        let id = workspace.id.0;
        let _ = write!(
            body,
            "<h2>{} <small>({})</small></h2>",
            escape(&workspace.name),
            role.as_str().replace('_', " ")
        );
        match store.repository(workspace.id).await.ok().flatten() {
            Some(repository) => {
                let _ = write!(
                    body,
                    "<p>Repository: <code>{}</code></p>",
                    escape(&repository.url)
                );
            }
            None => body.push_str(
                "<p>No repository connected yet (a super user connects one through the API).</p>",
            ),
        }
        let _ = write!(
            body,
            "<form onsubmit=\"return send(this, '/api/v1/workspaces/{id}/environments/' + encodeURIComponent(this.environment.value) + '/runs', '/', '{csrf}')\">\
             <input name=\"environment\" placeholder=\"environment, e.g. staging\" required style=\"min-width:12rem\"> \
             <button>Run its pipeline</button><span class=\"error\"></span></form>"
        );
        let runs = store
            .runs_of_workspace(workspace.id, upkeep_store::PageRequest::first(10))
            .await
            .map(|page| page.items)
            .unwrap_or_default();
        if runs.is_empty() {
            body.push_str("<p>No runs yet.</p>");
            continue;
        }
        body.push_str("<table><tr><th>Pipeline</th><th>Status</th><th>Trigger</th><th>Queued</th><th></th></tr>");
        for run in runs {
            refresh |= matches!(run.status, RunStatus::Queued | RunStatus::Running);
            let decide = if run.status == RunStatus::WaitingForApproval && role == Role::SuperUser {
                format!(
                    "<button onclick=\"fetch('/api/v1/workspaces/{id}/runs/{run}/approve',{{method:'POST',headers:{{'x-csrf-token':'{csrf}'}}}}).then(()=>location.reload())\">Approve</button> \
                     <button onclick=\"fetch('/api/v1/workspaces/{id}/runs/{run}/reject',{{method:'POST',headers:{{'x-csrf-token':'{csrf}'}}}}).then(()=>location.reload())\">Reject</button>",
                    run = run.run_id
                )
            } else {
                String::new()
            };
            let _ = write!(
                body,
                "<tr><td><a href=\"/workspaces/{id}/runs/{run}\">*** {env} Pipeline ***</a></td><td class=\"{status}\">{status_text}</td><td>{trigger}</td><td>{queued}</td><td>{decide}</td></tr>",
                run = run.run_id,
                env = escape(&run.environment),
                status = run.status.as_str(),
                status_text = run.status.as_str().replace('_', " "),
                trigger = run.trigger.as_str(),
                queued = run.queued_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            );
        }
        body.push_str("</table>");
    }
    page("Workspaces", refresh, &body)
}

pub async fn run(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((workspace, run_id)): Path<(i64, String)>,
) -> Html<String> {
    let Some(caller) = caller else {
        return page(
            "Sign in",
            false,
            "<h1>Sign in first</h1><p><a href=\"/\">Sign in</a></p>",
        );
    };
    let workspace = WorkspaceId(workspace);
    let store = &state.inner.store;
    let member = store
        .role_of(workspace, caller.account.id)
        .await
        .ok()
        .flatten()
        .is_some();
    let Some(run_id) = run_id.parse::<RunId>().ok().filter(|_| member) else {
        return page(
            "Not found",
            false,
            "<h1>No such run</h1><p><a href=\"/\">Back</a></p>",
        );
    };
    let run_dir = state.inner.executor.dirs(workspace).run_dir(&run_id);
    let Ok(record) = upkeep_runner::index::load_current(&run_dir) else {
        return page(
            "Run",
            true,
            "<h1>The run is queued</h1><p><a href=\"/\">Back</a></p>",
        );
    };
    let mut body = format!(
        "<p><a href=\"/\">← Workspaces</a></p><h1>{}</h1><p class=\"{}\">{}</p>",
        escape(&record.pipeline),
        record.status.as_str(),
        escape(record.status.describe())
    );
    for sub in &record.sub_pipelines {
        let _ = write!(
            body,
            "<h2>{} <small class=\"{}\">{}</small></h2>",
            sub.name,
            sub.status.as_str(),
            sub.status.as_str().replace('_', " ")
        );
        for stage in &sub.stages {
            for step in &stage.steps {
                let _ = write!(
                    body,
                    "<h3 class=\"{}\">{} — {}</h3>",
                    step.status.as_str(),
                    stage.name,
                    step.status.as_str().replace('_', " ")
                );
                let text = step
                    .log
                    .as_ref()
                    .and_then(|log| upkeep_runner::logs::confined(&run_dir, log).ok())
                    .and_then(|path| LogStore::read_from(&path, 0).ok())
                    .map(|(lines, _)| {
                        lines
                            .iter()
                            .map(|line| escape(&line.text))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default();
                let _ = write!(body, "<pre>{text}</pre>");
            }
        }
    }
    if !record.notes.is_empty() {
        body.push_str("<h2>Notes</h2><ul>");
        for note in &record.notes {
            let _ = write!(body, "<li>{}</li>", escape(note));
        }
        body.push_str("</ul>");
    }
    let refresh = matches!(record.status, RunStatus::Queued | RunStatus::Running);
    page(&record.pipeline, refresh, &body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        assert_eq!(
            super::escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
