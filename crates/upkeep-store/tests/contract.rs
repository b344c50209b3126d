//! One contract for the store, kept by both backends: the same checks run against the embedded
//! SQLite database and a real PostgreSQL server that the test starts (`initdb` + `pg_ctl` on a
//! free loopback port) and stops. A missing PostgreSQL fails the test; `scripts/test.sh`
//! installs it.

use std::path::PathBuf;
use std::process::Command;

use jiff::{Timestamp, ToSpan};
use upkeep_pipeline::record::{RunId, RunKind, RunStatus};
use upkeep_store::{
    AccountId, AccountStore, ApiTokenStore, AuditStore, DeliveryStore, InvitationState,
    InvitationStore, NewAccount, NewInvitation, NewRun, PageRequest, RepositoryStore, Role,
    RunStore, SessionStore, Store, StoreError, Trigger, WorkspaceId, WorkspaceStore,
};

fn account(email: &str, admin: bool) -> NewAccount<'_> {
    NewAccount {
        email,
        display_name: "Someone",
        password_hash: "$argon2id$v=19$stand-in",
        is_admin: admin,
    }
}

async fn contract(store: &Store) {
    migrations(store).await;
    let (admin, colleague) = accounts(store).await;
    let workspace = workspaces(store, admin, colleague).await;
    invitations(store, workspace, admin).await;
    api_tokens(store, colleague).await;
    pages(store, colleague).await;
    sessions(store, colleague).await;
    repositories(store, workspace, admin).await;
    runs(store, workspace, admin).await;
    audit(store, workspace, admin).await;
}

async fn migrations(store: &Store) {
    assert_eq!(store.schema_version().await.unwrap(), 0);
    assert_eq!(store.migrate().await.unwrap(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(store.schema_version().await.unwrap(), 6);
    assert!(store.migrate().await.unwrap().is_empty());
}

async fn accounts(store: &Store) -> (AccountId, AccountId) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    let admin = store
        .create_account(&account("Ops@Example.test", true))
        .await
        .unwrap();
    assert_eq!(admin.email, "ops@example.test");
    assert!(admin.is_admin);
    assert_eq!(admin.disabled_at, None);
    let duplicate = store
        .create_account(&account("ops@example.TEST", false))
        .await
        .unwrap_err();
    assert!(
        matches!(
            duplicate,
            StoreError::Duplicate {
                what: "account",
                ..
            }
        ),
        "{duplicate}"
    );
    let found = store
        .account_by_email(" OPS@example.test ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, admin);
    store
        .set_password_hash(admin.id, "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(
        store
            .account(admin.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );
    let colleague = store
        .create_account(&account("dev@example.test", false))
        .await
        .unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 2);
    assert!(store.account(AccountId(9999)).await.unwrap().is_none());
    (admin.id, colleague.id)
}

async fn workspaces(store: &Store, admin: AccountId, colleague: AccountId) -> WorkspaceId {
    let workspace = store.create_workspace("b2c-shop", admin).await.unwrap();
    assert_eq!(
        store.role_of(workspace.id, admin).await.unwrap(),
        Some(Role::SuperUser)
    );
    assert_eq!(store.role_of(workspace.id, colleague).await.unwrap(), None);
    let error = store.create_workspace("b2c-shop", admin).await.unwrap_err();
    assert!(matches!(error, StoreError::Duplicate { .. }), "{error}");
    store
        .set_role(workspace.id, colleague, Role::RegularUser)
        .await
        .unwrap();
    // Newest account first.
    let members = store
        .members(workspace.id, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(members.next, None);
    assert_eq!(
        members
            .items
            .iter()
            .map(|member| (member.email.as_str(), member.role))
            .collect::<Vec<_>>(),
        [
            ("dev@example.test", Role::RegularUser),
            ("ops@example.test", Role::SuperUser)
        ]
    );
    assert_eq!(store.super_users(workspace.id).await.unwrap(), [admin]);
    let other = store.create_workspace("b2b-shop", colleague).await.unwrap();
    let of_colleague = store.workspaces_of(colleague).await.unwrap();
    assert_eq!(
        of_colleague
            .iter()
            .map(|(workspace, role)| (workspace.name.as_str(), *role))
            .collect::<Vec<_>>(),
        [
            ("b2c-shop", Role::RegularUser),
            ("b2b-shop", Role::SuperUser)
        ]
    );
    assert_eq!(store.workspace(other.id).await.unwrap().unwrap(), other);
    workspace.id
}

async fn invitations(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    let now = Timestamp::now();
    let week = now + 168.hours();
    let invite = |email: &'static str, hash: &'static str, expires_at: Timestamp| NewInvitation {
        workspace,
        email,
        role: Role::RegularUser,
        token_hash: hash,
        invited_by: admin,
        expires_at,
    };
    let pending = store
        .create_invitation(&invite("New@Example.test", "hash-1", week))
        .await
        .unwrap();
    assert_eq!(pending.email, "new@example.test");
    assert_eq!(pending.state(now), InvitationState::Pending);
    let found = store
        .invitation_by_token_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, pending);
    assert!(
        store
            .invitation_by_token_hash("nope")
            .await
            .unwrap()
            .is_none()
    );

    let loser = accepted_once(store, workspace, pending.id, now).await;

    let expired = store
        .create_invitation(&invite("late@example.test", "hash-2", now - 1.hour()))
        .await
        .unwrap();
    let error = store
        .accept_invitation(expired.id, loser, now)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvitationUnusable(InvitationState::Expired)
    ));

    // A newcomer's account comes with the invitation, or not at all.
    let fresh = store
        .create_invitation(&invite("fresh@example.test", "hash-5", week))
        .await
        .unwrap();
    newcomer_accepts(store, workspace, fresh.id, now).await;

    let revoked = store
        .create_invitation(&invite("gone@example.test", "hash-3", week))
        .await
        .unwrap();
    let kept = store
        .create_invitation(&invite("kept@example.test", "hash-4", week))
        .await
        .unwrap();
    store.revoke_invitation(revoked.id, now).await.unwrap();
    let error = store
        .accept_invitation(revoked.id, loser, now)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvitationUnusable(InvitationState::Revoked)
    ));
    assert_eq!(store.role_of(workspace, loser).await.unwrap(), None);
    let pending: Vec<_> = store
        .pending_invitations(workspace, now, PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|invitation| invitation.id)
        .collect();
    assert_eq!(pending, [kept.id]);
    assert_eq!(
        store
            .invitation(kept.id)
            .await
            .unwrap()
            .map(|found| found.email),
        Some("kept@example.test".to_string())
    );
    assert_eq!(
        store
            .invitation(upkeep_store::InvitationId(9999))
            .await
            .unwrap(),
        None
    );
    // A token hash in use is refused, and the error does not show it.
    let duplicate = store
        .create_invitation(&invite("x@example.test", "hash-4", week))
        .await
        .unwrap_err();
    assert!(!duplicate.to_string().contains("hash-4"), "{duplicate}");
}

/// A newcomer's account comes with the invitation, or not at all.
async fn newcomer_accepts(
    store: &Store,
    workspace: WorkspaceId,
    invitation: upkeep_store::InvitationId,
    now: Timestamp,
) {
    let newcomer = store
        .accept_invitation_as_new_account(invitation, &account("fresh@example.test", false), now)
        .await
        .unwrap();
    assert_eq!(
        store.role_of(workspace, newcomer).await.unwrap(),
        Some(Role::RegularUser)
    );
    let error = store
        .accept_invitation_as_new_account(invitation, &account("second@example.test", false), now)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvitationUnusable(InvitationState::Accepted)
    ));
    assert!(
        store
            .account_by_email("second@example.test")
            .await
            .unwrap()
            .is_none(),
        "a refused acceptance left an account behind"
    );
}

/// Two acceptances of one invitation at once: exactly one wins, and the invitation is used up.
/// Returns the account that lost.
async fn accepted_once(
    store: &Store,
    workspace: WorkspaceId,
    invitation: upkeep_store::InvitationId,
    now: Timestamp,
) -> AccountId {
    // Two acceptances of one invitation at once: exactly one wins.
    let first = store
        .create_account(&account("new@example.test", false))
        .await
        .unwrap();
    let second = store
        .create_account(&account("eve@example.test", false))
        .await
        .unwrap();
    let (one, two) = tokio::join!(
        store.accept_invitation(invitation, first.id, now),
        store.accept_invitation(invitation, second.id, now)
    );
    assert!(one.is_ok() != two.is_ok(), "{one:?} {two:?}");
    let (winner, loser) = if one.is_ok() {
        (first.id, second.id)
    } else {
        (second.id, first.id)
    };
    assert_eq!(
        store.role_of(workspace, winner).await.unwrap(),
        Some(Role::RegularUser)
    );
    assert_eq!(store.role_of(workspace, loser).await.unwrap(), None);
    let again = store
        .accept_invitation(invitation, loser, now)
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            StoreError::InvitationUnusable(InvitationState::Accepted)
        ),
        "{again}"
    );

    loser
}

async fn api_tokens(store: &Store, owner: AccountId) {
    let now = Timestamp::now();
    let token = store
        .create_api_token(owner, "laptop", "token-hash")
        .await
        .unwrap();
    assert_eq!(token.last_used_at, None);
    assert_eq!(
        store.use_api_token("token-hash", now).await.unwrap(),
        Some(owner)
    );
    assert_eq!(store.use_api_token("other", now).await.unwrap(), None);
    let listed = store
        .api_tokens(owner, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        listed[0].last_used_at.map(Timestamp::as_millisecond),
        Some(now.as_millisecond())
    );
    store.revoke_api_token(owner, token.id, now).await.unwrap();
    assert_eq!(store.use_api_token("token-hash", now).await.unwrap(), None);
    assert!(store.revoke_api_token(owner, token.id, now).await.is_err());
}

/// Walking a list page by page gives every row once, newest first, even when rows are added
/// between pages (they are newer than the cursor, so they belong to no later page).
async fn pages(store: &Store, owner: AccountId) {
    let before: Vec<i64> = store
        .api_tokens(owner, PageRequest::first(100))
        .await
        .unwrap()
        .items
        .iter()
        .map(|token| token.id.0)
        .collect();
    for n in 0..5 {
        store
            .create_api_token(owner, &format!("machine {n}"), &format!("paged-{n}"))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut request = PageRequest::first(2);
    let mut sizes = Vec::new();
    loop {
        let page = store.api_tokens(owner, request).await.unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(|token| token.id.0));
        if seen.len() == 2 {
            store
                .create_api_token(owner, "added meanwhile", "paged-late")
                .await
                .unwrap();
        }
        match page.next {
            Some(next) => request.before = Some(next),
            None => break,
        }
    }
    let total = before.len() + 5;
    assert_eq!(seen.len(), total, "{seen:?}");
    assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "{seen:?}");
    assert_eq!(&seen[5..], before.as_slice());
    assert_eq!(sizes.iter().sum::<usize>(), total);
    assert!(
        sizes[..sizes.len() - 1].iter().all(|size| *size == 2),
        "{sizes:?}"
    );
}

async fn sessions(store: &Store, owner: AccountId) {
    let now = Timestamp::now();
    store
        .create_session(owner, "session-hash", "csrf-1", now + 12.hours())
        .await
        .unwrap();
    let session = store.session("session-hash", now).await.unwrap().unwrap();
    assert_eq!(session.account, owner);
    assert_eq!(session.csrf_token, "csrf-1");
    // Expired sessions do not count.
    assert!(
        store
            .session("session-hash", now + 13.hours())
            .await
            .unwrap()
            .is_none()
    );
    store.delete_session("session-hash").await.unwrap();
    assert!(store.session("session-hash", now).await.unwrap().is_none());
}

async fn repositories(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    assert!(store.repository(workspace).await.unwrap().is_none());
    store
        .connect_repository(workspace, "https://git.example.test/shop.git", admin)
        .await
        .unwrap();
    // Switching the repository replaces the connection.
    store
        .connect_repository(workspace, "file:///srv/git/shop.git", admin)
        .await
        .unwrap();
    let repository = store.repository(workspace).await.unwrap().unwrap();
    assert_eq!(repository.url, "file:///srv/git/shop.git");
    assert_eq!(repository.connected_by, Some(admin));
    assert_eq!(store.webhook_secret(workspace).await.unwrap(), None);
    store
        .set_webhook_secret(workspace, "sealed-bytes")
        .await
        .unwrap();
    assert_eq!(
        store.webhook_secret(workspace).await.unwrap().as_deref(),
        Some("sealed-bytes")
    );
    // Deliveries: a replay is one whose id was accepted before.
    store
        .record_delivery(
            workspace,
            "github",
            "d-1",
            "push",
            "forged",
            "bad signature",
        )
        .await
        .unwrap();
    assert!(!store.delivery_accepted("github", "d-1").await.unwrap());
    store
        .record_delivery(workspace, "github", "d-1", "push", "accepted", "main")
        .await
        .unwrap();
    assert!(store.delivery_accepted("github", "d-1").await.unwrap());
    assert!(!store.delivery_accepted("gitlab", "d-1").await.unwrap());
    let verdicts: Vec<String> = store
        .deliveries(workspace, PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|delivery| delivery.verdict)
        .collect();
    assert_eq!(verdicts, ["accepted", "forged"]);
    assert_eq!(
        store.count_deliveries_by_verdict().await.unwrap(),
        [("accepted".to_string(), 1), ("forged".to_string(), 1)]
    );
}

async fn runs(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    let start: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
    let mut ids = Vec::new();
    for n in 0..5u32 {
        let id = RunId::new(start + i64::from(n).minutes(), n);
        let dir = PathBuf::from(format!("/srv/upkeep/runs/{id}"));
        let run = store
            .queue_run(&NewRun {
                workspace,
                run_id: &id,
                environment: if n == 4 { "production" } else { "staging" },
                kind: RunKind::Pipeline,
                trigger: if n == 0 {
                    Trigger::Manual
                } else {
                    Trigger::Push
                },
                requested_by: (n == 0).then_some(admin),
                commit: Some("0123456789ab"),
                run_dir: &dir,
            })
            .await
            .unwrap();
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(run.run_dir, dir);
        ids.push(id);
    }
    let at = Timestamp::now();
    store
        .set_run_status(&ids[0], RunStatus::Running, at)
        .await
        .unwrap();
    store
        .set_run_status(&ids[0], RunStatus::Succeeded, at)
        .await
        .unwrap();
    store
        .set_run_status(&ids[1], RunStatus::Running, at)
        .await
        .unwrap();
    store
        .set_run_status(&ids[2], RunStatus::WaitingForApproval, at)
        .await
        .unwrap();
    let done = store.run(&ids[0]).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert!(done.started_at.is_some() && done.finished_at.is_some());
    assert_eq!(done.requested_by, Some(admin));
    assert_eq!(done.trigger, Trigger::Manual);

    runs_page_by_page(store, workspace, &ids).await;

    // A server stopped mid-run: at the next start the running and queued runs are
    // interrupted; the waiting one still waits, the finished one stays finished.
    assert_eq!(store.interrupt_unfinished(at).await.unwrap(), 3);
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(store.run(id).await.unwrap().unwrap().status);
    }
    assert_eq!(
        statuses,
        [
            RunStatus::Succeeded,
            RunStatus::Interrupted,
            RunStatus::WaitingForApproval,
            RunStatus::Interrupted,
            RunStatus::Interrupted
        ]
    );
    counted_by_status(store).await;
    let error = store
        .set_run_status(&RunId::new(start, 99), RunStatus::Running, at)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }));
}

/// The runs of an environment and of a workspace, newest first, a page at a time.
async fn runs_page_by_page(store: &Store, workspace: WorkspaceId, ids: &[RunId]) {
    let page = store
        .runs_of_environment(workspace, "staging", PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|run| &run.run_id).collect::<Vec<_>>(),
        [&ids[3], &ids[2]]
    );
    assert_eq!(page.next, Some(page.items[1].row_id));
    // The last page, exactly full: nothing follows it.
    let next = store
        .runs_of_environment(
            workspace,
            "staging",
            PageRequest {
                before: page.next,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next.items.iter().map(|run| &run.run_id).collect::<Vec<_>>(),
        [&ids[1], &ids[0]]
    );
    assert_eq!(next.next, None);

    let all = store
        .runs_of_workspace(workspace, PageRequest::first(3))
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|run| &run.run_id).collect::<Vec<_>>(),
        [&ids[4], &ids[3], &ids[2]]
    );
    let rest = store
        .runs_of_workspace(
            workspace,
            PageRequest {
                before: all.next,
                limit: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|run| &run.run_id).collect::<Vec<_>>(),
        [&ids[1], &ids[0]]
    );
    assert_eq!(rest.next, None);
}

/// Runs counted by status (for metrics), after the interruption above.
async fn counted_by_status(store: &Store) {
    let mut counts = store.count_runs_by_status().await.unwrap();
    counts.sort_by_key(|(status, _)| status.as_str());
    assert_eq!(
        counts,
        [
            (RunStatus::Interrupted, 3),
            (RunStatus::Succeeded, 1),
            (RunStatus::WaitingForApproval, 1)
        ]
    );
}

async fn audit(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    for n in 0..3 {
        store
            .record_audit(
                Some(workspace),
                Some(admin),
                "role.changed",
                &format!("change {n}"),
            )
            .await
            .unwrap();
    }
    let newest = store
        .audit_entries(workspace, PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(newest.next, Some(newest.items[1].id));
    assert_eq!(
        newest
            .items
            .iter()
            .map(|entry| entry.detail.as_str())
            .collect::<Vec<_>>(),
        ["change 2", "change 1"]
    );
    let rest = store
        .audit_entries(
            workspace,
            PageRequest {
                before: newest.next,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.next, None);
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].detail, "change 0");
    assert_eq!(rest.items[0].actor, Some(admin));
}

/// A database that an upkeep of schema 1 wrote is migrated with its data kept; a database newer
/// than this upkeep is refused.
async fn from_the_previous_schema(store: &Store) {
    assert_eq!(store.migrate_to(1).await.unwrap(), [1]);
    sqlx::query(
        "INSERT INTO accounts (email, display_name, password_hash, is_admin, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind("old@example.test")
    .bind("From schema 1")
    .bind("$argon2id$old")
    .bind(0_i64)
    .bind(1_700_000_000_000_i64)
    .execute(store.pool())
    .await
    .unwrap();
    assert_eq!(store.migrate().await.unwrap(), [2, 3, 4, 5, 6]);
    let kept = store
        .account_by_email("old@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.display_name, "From schema 1");
    assert_eq!(kept.created_at.as_millisecond(), 1_700_000_000_000);
    assert_eq!(kept.disabled_at, None);

    sqlx::query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let error = store.migrate().await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaTooNew {
                found: 99,
                known: 6
            }
        ),
        "{error}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sqlite_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let store = Store::open_sqlite(&dir.path().join("upkeep.db"))
            .await
            .unwrap();
        contract(&store).await;
        // The embedded database runs in WAL mode: readers go on while the one writer writes.
        let mode: String = sqlx::Row::get(
            &sqlx::query("PRAGMA journal_mode")
                .fetch_one(store.pool())
                .await
                .unwrap(),
            0,
        );
        assert_eq!(mode, "wal");
        store.close().await;
    });
}

#[test]
fn postgres_keeps_the_contract() {
    let server = Postgres::start();
    runtime().block_on(async {
        let store = Store::connect(&server.database("contract")).await.unwrap();
        contract(&store).await;
        store.close().await;
    });
}

#[test]
fn migrations_keep_the_data_of_the_previous_schema_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Postgres::start();
    runtime().block_on(async {
        let sqlite = Store::open_sqlite(&dir.path().join("old.db"))
            .await
            .unwrap();
        from_the_previous_schema(&sqlite).await;
        sqlite.close().await;
        let postgres = Store::connect(&server.database("previous")).await.unwrap();
        from_the_previous_schema(&postgres).await;
        postgres.close().await;
    });
}

#[test]
fn bad_urls_and_unreachable_servers_are_clear_errors_without_passwords() {
    runtime().block_on(async {
        let error = Store::connect("mysql://root:hunter2@db/upkeep")
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("is not a database URL"),
            "{error}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let port = free_port();
        let error = Store::connect(&format!(
            "postgres://upkeep:hunter2@127.0.0.1:{port}/upkeep"
        ))
        .await
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot open the database postgres://upkeep:***@"),
            "{error}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server of the test's own, on a free loopback port, stopped when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_root: bool,
}

impl Postgres {
    fn start() -> Self {
        let bin = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]
            .into_iter()
            .map(PathBuf::from)
            .find(|dir| dir.join("pg_ctl").is_file())
            .expect(
                "PostgreSQL is needed for the store's contract tests \
                 (Debian: apt-get install postgresql; scripts/test.sh installs it)",
            );
        let dir = tempfile::tempdir().unwrap();
        // initdb refuses to run as root: as root, the server runs as the `postgres` user.
        let as_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        if as_root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let server = Self {
            dir,
            bin,
            port: free_port(),
            as_root,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "upkeep",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            server.port,
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log").display().to_string();
        server.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join(program));
            command
        } else {
            Command::new(self.bin.join(program))
        };
        let output = command.args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A new empty database on the server, as a URL.
    fn database(&self, name: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "upkeep", "-d", "postgres", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        format!("postgres://upkeep@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            command
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}
