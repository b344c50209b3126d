//! One contract for the store, kept by both backends: the same checks run against the embedded
//! SQLite database and a real PostgreSQL server that the test starts (`initdb` + `pg_ctl` on a
//! free loopback port) and stops. A missing PostgreSQL fails the test; `scripts/test.sh`
//! installs it.

use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp, ToSpan};
use upkeep_pipeline::record::{RunId, RunKind, RunStatus};
use upkeep_store::testing::Postgres;
use upkeep_store::{
    AccountId, AccountStore, ApiTokenStore, AuditStore, Authorisation, DeliveryStore, HeadSource,
    InvitationState, InvitationStore, NewAccount, NewInvitation, NewOAuthAuthorisation,
    NewRepository, NewRun, OAuthAuthorisationState, OAuthStore, PageRequest, Provider,
    RefreshedToken, RepositoryStore, Role, RunStore, Scope, SessionStore, Store, StoreError,
    StoredValue, Trigger, UpgradeRunEnd, UpgradeRunStatus, UpgradeStore, UpgradeTrigger,
    UpgraderSettings, VariableStore, WebhookStatus, WorkspaceId, WorkspaceStore,
};
use upkeep_store::{AgentId, AgentStore, JobKind, JobState, JobStore, LAST_USE_PRECISION};

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
    oauth_authorisations(store, workspace, admin, colleague).await;
    runs(store, workspace, admin).await;
    upgrade_schedules(store, workspace, admin).await;
    upgrade_runs(store, workspace, admin).await;
    audit(store, workspace, admin).await;
    variables(store, workspace, admin).await;
    agents_and_jobs(store, workspace, admin).await;
}

async fn variables(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    assert!(store.variables(workspace).await.unwrap().is_empty());
    let staging = Scope::Environment("staging".to_string());
    let plain = StoredValue::Plain("db.internal".to_string());
    let sealed = StoredValue::Sealed("sealed:abc".to_string());
    store
        .set_variable(workspace, &staging, "DB_HOST", &plain, admin)
        .await
        .unwrap();
    store
        .set_variable(workspace, &Scope::Workspace, "DB_HOST", &plain, admin)
        .await
        .unwrap();
    // Setting again replaces the value and whether it is secret.
    let replaced = store
        .set_variable(workspace, &staging, "DB_HOST", &sealed, admin)
        .await
        .unwrap();
    assert!(replaced.is_secret());
    let listed = store.variables(workspace).await.unwrap();
    let summary: Vec<(Scope, &str, bool)> = listed
        .iter()
        .map(|variable| {
            (
                variable.scope.clone(),
                variable.name.as_str(),
                variable.is_secret(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Scope::Workspace, "DB_HOST", false),
            (staging.clone(), "DB_HOST", true)
        ]
    );
    assert_eq!(listed[1].value, sealed);
    assert_eq!(listed[1].updated_by, Some(admin));
    assert!(
        store
            .delete_variable(workspace, &staging, "DB_HOST")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_variable(workspace, &staging, "DB_HOST")
            .await
            .unwrap()
    );
    assert_eq!(store.variables(workspace).await.unwrap().len(), 1);
}

async fn queued_run(store: &Store, workspace: WorkspaceId, n: u32) -> RunId {
    let id = RunId::new("2026-12-02T08:00:00Z".parse().unwrap(), n);
    store
        .queue_run(&NewRun {
            workspace,
            run_id: &id,
            environment: "staging",
            kind: RunKind::Pipeline,
            trigger: Trigger::Push,
            requested_by: None,
            commit: None,
            run_dir: &PathBuf::from(format!("/srv/upkeep/runs/{id}")),
        })
        .await
        .unwrap();
    id
}

async fn agents_and_jobs(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    let labels = |names: &[&str]| names.iter().map(ToString::to_string).collect::<Vec<_>>();
    let php = store
        .create_agent(
            "builder-php",
            "hash-php",
            &labels(&["php8.3", "linux", "linux"]),
            admin,
        )
        .await
        .unwrap();
    assert_eq!(php.labels, ["linux", "php8.3"]);
    let plain = store
        .create_agent("builder-plain", "hash-plain", &labels(&["linux"]), admin)
        .await
        .unwrap();
    let duplicate = store
        .create_agent("builder-php", "hash-other", &[], admin)
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, StoreError::Duplicate { what: "agent", .. }),
        "{duplicate}"
    );
    let now = Timestamp::now();
    let seen = store
        .agent_by_token("hash-php", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((seen.id, seen.last_seen_at.is_some()), (php.id, true));
    assert_eq!(store.agent_by_token("hash-none", now).await.unwrap(), None);

    let first = queued_run(store, workspace, 1).await;
    leased_by_labels(store, workspace, &first, (&php, &plain), now).await;
    expired_leases_go_back(store, &first, (&php, &plain), now).await;
    racing_agents_never_share_a_job(store, &first, (&php, &plain), now).await;
    assert!(store.revoke_agent(plain.id, now).await.unwrap());
    assert!(!store.revoke_agent(plain.id, now).await.unwrap());
    assert_eq!(store.agent_by_token("hash-plain", now).await.unwrap(), None);
    // Newest first, a page at a time; revoked agents stay listed.
    let first = store.agents(PageRequest::first(1)).await.unwrap();
    assert_eq!(
        first.items.iter().map(|agent| agent.id).collect::<Vec<_>>(),
        [plain.id]
    );
    let rest = store
        .agents(PageRequest {
            before: first.next,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            rest.items.iter().map(|agent| agent.id).collect::<Vec<_>>(),
            rest.next
        ),
        (vec![php.id], None)
    );
    assert!(
        store
            .agent(plain.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(store.agent(AgentId(999_999)).await.unwrap(), None);
}

async fn leased_by_labels(
    store: &Store,
    workspace: WorkspaceId,
    first: &RunId,
    (php, plain): (&upkeep_store::Agent, &upkeep_store::Agent),
    now: Timestamp,
) {
    let labels = |names: &[&str]| names.iter().map(ToString::to_string).collect::<Vec<_>>();
    // The oldest job an agent may take: the labelled one waits for an agent with the label.
    let second = queued_run(store, workspace, 2).await;
    let anywhere = store
        .queue_job(first, JobKind::Pipeline, Some("main"), "push to main", &[])
        .await
        .unwrap();
    let labelled = store
        .queue_job(
            &second,
            JobKind::Approve,
            None,
            "ops@example.test",
            &labels(&["php8.3"]),
        )
        .await
        .unwrap();
    assert_eq!(
        (labelled.state, labelled.labels.clone()),
        (JobState::Queued, labels(&["php8.3"]))
    );
    assert_eq!(store.count_queued_jobs().await.unwrap(), 2);
    let until = now + 30.seconds();
    let taken = store
        .lease_next_job(plain.id, now, until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (taken.id, taken.state, taken.agent, taken.attempts),
        (anywhere.id, JobState::Leased, Some(plain.id), 1)
    );
    assert_eq!(
        store.lease_next_job(plain.id, now, until).await.unwrap(),
        None
    );
    let taken = store
        .lease_next_job(php.id, now, until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (taken.id, taken.kind, taken.run_id),
        (labelled.id, JobKind::Approve, second)
    );

    // Only the holder extends and finishes; once.
    assert!(
        !store
            .extend_lease(anywhere.id, php.id, until + 1.minutes())
            .await
            .unwrap()
    );
    assert!(
        store
            .extend_lease(anywhere.id, plain.id, until + 1.minutes())
            .await
            .unwrap()
    );
    assert!(store.finish_job(anywhere.id, plain.id, now).await.unwrap());
    assert!(!store.finish_job(anywhere.id, plain.id, now).await.unwrap());
    assert_eq!(
        store.job(anywhere.id).await.unwrap().unwrap().state,
        JobState::Done
    );
}

async fn expired_leases_go_back(
    store: &Store,
    first: &RunId,
    (php, plain): (&upkeep_store::Agent, &upkeep_store::Agent),
    now: Timestamp,
) {
    // An expired lease puts the job back: another agent takes it, the first one lost it.
    let expiring = store
        .queue_job(first, JobKind::Pipeline, None, "push to main", &[])
        .await
        .unwrap();
    let short = store
        .lease_next_job(php.id, now, now + 1.seconds())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(short.id, expiring.id);
    let later = now + 2.seconds();
    let retaken = store
        .lease_next_job(plain.id, later, later + 30.seconds())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (retaken.id, retaken.agent, retaken.attempts),
        (expiring.id, Some(plain.id), 2)
    );
    assert!(
        !store
            .extend_lease(expiring.id, php.id, later + 1.minutes())
            .await
            .unwrap()
    );
    assert!(!store.finish_job(expiring.id, php.id, later).await.unwrap());

    // A cancellation is kept with the job, at the time first asked, until the job is done.
    assert_eq!(store.request_cancel(first, later).await.unwrap(), 1);
    assert_eq!(
        store
            .request_cancel(first, later + 1.seconds())
            .await
            .unwrap(),
        1
    );
    let cancelled = store.job(expiring.id).await.unwrap().unwrap();
    assert_eq!(
        cancelled.cancel_requested_at.map(Timestamp::as_millisecond),
        Some(later.as_millisecond())
    );
    assert!(
        store
            .finish_job(expiring.id, plain.id, later)
            .await
            .unwrap()
    );
    assert_eq!(store.request_cancel(first, later).await.unwrap(), 0);
}

async fn racing_agents_never_share_a_job(
    store: &Store,
    first: &RunId,
    (php, plain): (&upkeep_store::Agent, &upkeep_store::Agent),
    now: Timestamp,
) {
    let until = now + 30.seconds();
    // Agents racing for jobs never share one.
    let mut queued = Vec::new();
    for _ in 0..4 {
        queued.push(
            store
                .queue_job(first, JobKind::Pipeline, None, "push", &[])
                .await
                .unwrap()
                .id,
        );
    }
    let race = |agent| {
        let store = store.clone();
        async move { store.lease_next_job(agent, now, until).await }
    };
    let results = futures_join(vec![
        race(php.id),
        race(plain.id),
        race(php.id),
        race(plain.id),
        race(php.id),
        race(plain.id),
    ])
    .await;
    let mut won: Vec<_> = results
        .into_iter()
        .filter_map(|result| result.unwrap())
        .map(|job| job.id)
        .collect();
    won.sort();
    assert_eq!(won, queued);
}

/// Runs the futures at once on the test's runtime.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

/// Every migration's version, in order: each new one is a sequel of the last.
fn all_versions() -> Vec<u32> {
    let versions: Vec<u32> = upkeep_store::MIGRATIONS
        .iter()
        .map(|migration| migration.version)
        .collect();
    let count = u32::try_from(versions.len()).unwrap();
    assert_eq!(versions, (1..=count).collect::<Vec<_>>());
    versions
}

fn latest_version() -> u32 {
    *all_versions().last().unwrap()
}

async fn migrations(store: &Store) {
    assert_eq!(store.schema_version().await.unwrap(), 0);
    assert_eq!(store.migrate().await.unwrap(), all_versions());
    assert_eq!(store.schema_version().await.unwrap(), latest_version());
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
    // Uses within the precision are not written again; a later one is.
    let soon = now + LAST_USE_PRECISION - SignedDuration::from_secs(1);
    let later = now + LAST_USE_PRECISION + SignedDuration::from_secs(1);
    let last_used = async || {
        let listed = store.api_tokens(owner, PageRequest::first(10)).await;
        listed.unwrap().items[0]
            .last_used_at
            .map(Timestamp::as_millisecond)
    };
    assert_eq!(
        store.use_api_token("token-hash", soon).await.unwrap(),
        Some(owner)
    );
    assert_eq!(last_used().await, Some(now.as_millisecond()));
    assert_eq!(
        store.use_api_token("token-hash", later).await.unwrap(),
        Some(owner)
    );
    assert_eq!(last_used().await, Some(later.as_millisecond()));
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

    // A changed password keeps the session that changed it and ends the others.
    for hash in ["laptop", "phone", "tablet"] {
        store
            .create_session(owner, hash, "csrf", now + 12.hours())
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .delete_other_sessions(owner, Some("laptop"))
            .await
            .unwrap(),
        2
    );
    assert!(store.session("laptop", now).await.unwrap().is_some());
    assert!(store.session("phone", now).await.unwrap().is_none());
    assert_eq!(store.delete_other_sessions(owner, None).await.unwrap(), 1);
    assert!(store.session("laptop", now).await.unwrap().is_none());
}

async fn repositories(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    assert!(store.repository(workspace).await.unwrap().is_none());
    let heads = [
        ("main".to_string(), "a".repeat(40)),
        ("release".to_string(), "b".repeat(40)),
    ];
    let first = NewRepository {
        url: "https://github.com/acme/shop.git",
        provider: Provider::GitHub,
        api_base: None,
        forge_path: None,
        username: None,
        token_sealed: Some("sealed-token"),
        password_sealed: None,
        ssh_key_sealed: None,
        authorisation: Authorisation::Credentials,
        refresh_token_sealed: None,
        token_expires_at: None,
        webhook_secret_sealed: "sealed-secret-1",
        poll_interval_seconds: 60,
        heads: &heads,
    };
    let connected = store
        .connect_repository(workspace, &first, admin)
        .await
        .unwrap();
    assert_eq!(connected.provider, Provider::GitHub);
    assert_eq!(connected.token_sealed.as_deref(), Some("sealed-token"));
    assert_eq!(
        (connected.authorisation, connected.token_expires_at),
        (Authorisation::Credentials, None)
    );
    assert_eq!(connected.webhook_status, WebhookStatus::Manual);
    store
        .set_webhook_status(workspace, WebhookStatus::Registered, "hook 7", Some(7))
        .await
        .unwrap();
    assert_eq!(
        store
            .repository(workspace)
            .await
            .unwrap()
            .unwrap()
            .webhook_hook_id,
        Some(7)
    );
    heads_advance_once(store, workspace).await;
    // Switching the repository replaces the connection, its credentials, webhook and heads.
    let switched = NewRepository {
        url: "https://git.example.test/shop.git",
        provider: Provider::Git,
        username: Some("deploy"),
        token_sealed: None,
        password_sealed: Some("sealed-password"),
        webhook_secret_sealed: "sealed-secret-2",
        poll_interval_seconds: 5,
        heads: &[],
        ..first
    };
    store
        .connect_repository(workspace, &switched, admin)
        .await
        .unwrap();
    let repository = store.repository(workspace).await.unwrap().unwrap();
    assert_eq!(repository.url, "https://git.example.test/shop.git");
    assert_eq!(repository.provider, Provider::Git);
    assert_eq!(repository.username.as_deref(), Some("deploy"));
    assert_eq!(repository.token_sealed, None);
    assert_eq!(
        repository.password_sealed.as_deref(),
        Some("sealed-password")
    );
    assert_eq!(
        (repository.webhook_status, repository.webhook_hook_id),
        (WebhookStatus::Manual, None)
    );
    assert_eq!(repository.poll_interval_seconds, 5);
    assert_eq!(repository.connected_by, Some(admin));
    assert_eq!(store.head(workspace, "main").await.unwrap(), None);
    assert_eq!(store.repositories().await.unwrap(), [repository]);
    assert_eq!(
        store.webhook_secret(workspace).await.unwrap().as_deref(),
        Some("sealed-secret-2")
    );
    let error = store
        .set_webhook_status(WorkspaceId(9999), WebhookStatus::Receiving, "", None)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
    oauth_tokens(store, workspace, admin).await;
    deliveries(store, workspace).await;
}

/// A connection by OAuth: its token is replaced after a refresh only if the refresh token is
/// still the one the refresh used; a failed refresh is recorded until the next success or
/// connection.
async fn oauth_tokens(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    let expires = Timestamp::from_second(1_800_000_000).unwrap();
    let by_oauth = NewRepository {
        url: "https://gitlab.example.test/shop/backend.git",
        provider: Provider::GitLab,
        api_base: Some("https://gitlab.example.test/api/v4"),
        forge_path: None,
        username: None,
        token_sealed: Some("sealed-access-1"),
        password_sealed: None,
        ssh_key_sealed: None,
        authorisation: Authorisation::OAuth,
        refresh_token_sealed: Some("sealed-refresh-1"),
        token_expires_at: Some(expires),
        webhook_secret_sealed: "sealed-secret-3",
        poll_interval_seconds: 60,
        heads: &[],
    };
    let connected = store
        .connect_repository(workspace, &by_oauth, admin)
        .await
        .unwrap();
    assert_eq!(connected.authorisation, Authorisation::OAuth);
    assert_eq!(
        connected.refresh_token_sealed.as_deref(),
        Some("sealed-refresh-1")
    );
    assert_eq!(connected.token_expires_at, Some(expires));
    assert_eq!(connected.token_error, None);
    store
        .set_token_error(workspace, "refused: invalid_grant")
        .await
        .unwrap();
    let later = expires + 2.hours();
    let refreshed = RefreshedToken {
        token_sealed: "sealed-access-2",
        refresh_token_sealed: Some("sealed-refresh-2"),
        expires_at: Some(later),
    };
    assert!(
        store
            .replace_token(workspace, "sealed-refresh-1", &refreshed)
            .await
            .unwrap()
    );
    let repository = store.repository(workspace).await.unwrap().unwrap();
    assert_eq!(
        (
            repository.token_sealed.as_deref(),
            repository.refresh_token_sealed.as_deref(),
            repository.token_expires_at,
            repository.token_error,
        ),
        (
            Some("sealed-access-2"),
            Some("sealed-refresh-2"),
            Some(later),
            None
        )
    );
    // A second refresh with the old refresh token lost the race: nothing changes.
    let stale = RefreshedToken {
        token_sealed: "sealed-access-3",
        ..refreshed
    };
    assert!(
        !store
            .replace_token(workspace, "sealed-refresh-1", &stale)
            .await
            .unwrap()
    );
    let repository = store.repository(workspace).await.unwrap().unwrap();
    assert_eq!(repository.token_sealed.as_deref(), Some("sealed-access-2"));
    // Connecting again clears the error and the OAuth token.
    store.set_token_error(workspace, "refused").await.unwrap();
    store
        .connect_repository(
            workspace,
            &NewRepository {
                token_sealed: Some("sealed-pat"),
                authorisation: Authorisation::Credentials,
                refresh_token_sealed: None,
                token_expires_at: None,
                ..by_oauth
            },
            admin,
        )
        .await
        .unwrap();
    let repository = store.repository(workspace).await.unwrap().unwrap();
    assert_eq!(
        (
            repository.authorisation,
            repository.refresh_token_sealed,
            repository.token_expires_at,
            repository.token_error
        ),
        (Authorisation::Credentials, None, None, None)
    );
}

/// Pending OAuth authorisations: found by the hash of their state, used once, never after
/// they expired; forgotten a day after.
async fn oauth_authorisations(
    store: &Store,
    workspace: WorkspaceId,
    admin: AccountId,
    colleague: AccountId,
) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let new = |state_hash, account, created_at: Timestamp| NewOAuthAuthorisation {
        state_hash,
        workspace,
        account,
        provider: Provider::GitHub,
        url: "https://github.com/acme/shop.git",
        api_base: Some("https://api.github.com"),
        forge_path: None,
        poll_interval_seconds: 30,
        created_at,
        expires_at: created_at + 10.minutes(),
    };
    let started = store
        .create_oauth_authorisation(&new("hash-1", admin, now))
        .await
        .unwrap();
    assert_eq!(
        (started.workspace, started.account, started.provider),
        (workspace, admin, Provider::GitHub)
    );
    assert_eq!(started.state(now), OAuthAuthorisationState::Pending);
    let found = store
        .oauth_authorisation_by_state("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, started);
    assert_eq!(found.api_base.as_deref(), Some("https://api.github.com"));
    assert_eq!(found.poll_interval_seconds, 30);
    assert!(
        store
            .oauth_authorisation_by_state("hash-2")
            .await
            .unwrap()
            .is_none()
    );
    // A state is unique.
    let error = store
        .create_oauth_authorisation(&new("hash-1", colleague, now))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Duplicate { .. }), "{error}");
    // Used once.
    let a_minute_later = now + 1.minute();
    assert!(
        store
            .use_oauth_authorisation(started.id, a_minute_later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_oauth_authorisation(started.id, a_minute_later)
            .await
            .unwrap()
    );
    let used = store
        .oauth_authorisation_by_state("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.used_at, Some(a_minute_later));
    assert_eq!(used.state(a_minute_later), OAuthAuthorisationState::Used);
    // Never after it expired.
    let other = store
        .create_oauth_authorisation(&new("hash-3", colleague, now))
        .await
        .unwrap();
    let too_late = now + 10.minutes();
    assert_eq!(other.state(too_late), OAuthAuthorisationState::Expired);
    assert!(
        !store
            .use_oauth_authorisation(other.id, too_late)
            .await
            .unwrap()
    );
    // A day after they expired, a new one makes the store forget them.
    store
        .create_oauth_authorisation(&new("hash-4", admin, now + 25.hours()))
        .await
        .unwrap();
    for forgotten in ["hash-1", "hash-3"] {
        assert!(
            store
                .oauth_authorisation_by_state(forgotten)
                .await
                .unwrap()
                .is_none(),
            "{forgotten}"
        );
    }
}

/// Deliveries: a replay is one whose id was accepted before.
async fn deliveries(store: &Store, workspace: WorkspaceId) {
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
    newest_of_each_environment_and_waiting(store, workspace, &ids).await;

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

/// What the dashboard reads: the newest run of each environment, and the runs that wait.
async fn newest_of_each_environment_and_waiting(
    store: &Store,
    workspace: WorkspaceId,
    ids: &[RunId],
) {
    let newest = store
        .newest_run_of_each_environment(workspace)
        .await
        .unwrap();
    assert_eq!(
        newest
            .iter()
            .map(|run| (run.environment.as_str(), &run.run_id))
            .collect::<Vec<_>>(),
        [("production", &ids[4]), ("staging", &ids[3])]
    );
    let waiting = store
        .runs_in_status(workspace, RunStatus::WaitingForApproval)
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|run| &run.run_id).collect::<Vec<_>>(),
        [&ids[2]]
    );
    let other = WorkspaceId(9999);
    assert!(
        store
            .newest_run_of_each_environment(other)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .runs_in_status(other, RunStatus::WaitingForApproval)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A branch head is news once: for the first caller that sees it, whoever that is.
async fn heads_advance_once(store: &Store, workspace: WorkspaceId) {
    let main = "a".repeat(40);
    let moved = "c".repeat(40);
    assert_eq!(
        store.head(workspace, "main").await.unwrap(),
        Some((main.clone(), HeadSource::Connect))
    );
    assert!(
        !store
            .advance_head(workspace, "main", &main, HeadSource::Poll)
            .await
            .unwrap()
    );
    let (one, two) = tokio::join!(
        store.advance_head(workspace, "main", &moved, HeadSource::Poll),
        store.advance_head(workspace, "main", &moved, HeadSource::Webhook)
    );
    assert!(one.unwrap() != two.unwrap(), "both or neither saw the news");
    assert_eq!(
        store
            .head(workspace, "main")
            .await
            .unwrap()
            .map(|(commit, _)| commit),
        Some(moved.clone())
    );
    assert!(
        store
            .advance_head(workspace, "topic", &moved, HeadSource::Webhook)
            .await
            .unwrap()
    );
    // `release` was deleted on the remote.
    store
        .keep_heads(workspace, &["main".to_string(), "topic".to_string()])
        .await
        .unwrap();
    assert_eq!(store.head(workspace, "release").await.unwrap(), None);
    assert_eq!(
        store.head(workspace, "topic").await.unwrap(),
        Some((moved, HeadSource::Webhook))
    );
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

async fn upgrade_schedules(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    let connected: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
    assert_eq!(store.upgrade_schedule(workspace).await.unwrap(), None);
    let made = store
        .ensure_upgrade_schedule(workspace, connected)
        .await
        .unwrap();
    assert_eq!(
        (
            made.settings.cron.as_str(),
            made.settings.time_zone.as_str(),
            made.settings.enabled,
            made.settings.refresh
        ),
        ("0 8 * * MON", "UTC", true, false)
    );
    assert_eq!(
        (made.settings.max_minor, made.settings.reviewers.clone()),
        (None, None)
    );
    assert_eq!(made.last_fired_at, connected);
    // A second call keeps what is there.
    let later = connected + 1.hour();
    assert_eq!(
        store
            .ensure_upgrade_schedule(workspace, later)
            .await
            .unwrap(),
        made
    );
    // Two schedulers see it due at once: one fires.
    let due: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
    let (one, two) = tokio::join!(
        store.mark_upgrade_fired(workspace, connected, due),
        store.mark_upgrade_fired(workspace, connected, due)
    );
    assert!(one.unwrap() != two.unwrap());
    let update = UpgraderSettings {
        enabled: false,
        cron: "30 6 * * MON-FRI".to_string(),
        time_zone: "Europe/Berlin".to_string(),
        refresh: true,
        max_minor: Some(3),
        max_patch: None,
        max_groups: Some(5),
        reviewers: Some(vec!["alice".to_string(), "bob".to_string()]),
        base_branch: Some("develop".to_string()),
    };
    let set = store
        .set_upgrade_schedule(workspace, &update, admin, later)
        .await
        .unwrap();
    assert_eq!(set.settings, update);
    assert_eq!((set.last_fired_at, set.updated_by), (later, Some(admin)));
    // No reviewers of its own is not the same as none at all.
    let none = UpgraderSettings {
        reviewers: Some(Vec::new()),
        ..update.clone()
    };
    let set = store
        .set_upgrade_schedule(workspace, &none, admin, later)
        .await
        .unwrap();
    assert_eq!(set.settings.reviewers, Some(Vec::new()));
    let inherit = UpgraderSettings {
        reviewers: None,
        ..update
    };
    store
        .set_upgrade_schedule(workspace, &inherit, admin, later)
        .await
        .unwrap();
    let all = store.upgrade_schedules().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].settings.reviewers, None);
}

async fn upgrade_runs(store: &Store, workspace: WorkspaceId, admin: AccountId) {
    assert_eq!(store.latest_upgrade_request(workspace).await.unwrap(), None);
    let first = store
        .queue_upgrade_run(
            workspace,
            UpgradeTrigger::Schedule,
            None,
            std::path::Path::new("/srv/upkeep/upgrades/1"),
        )
        .await
        .unwrap();
    assert_eq!(first.status, UpgradeRunStatus::Queued);
    let at = Timestamp::now();
    store.start_upgrade_run(first.id, at).await.unwrap();
    store
        .finish_upgrade_run(
            first.id,
            &UpgradeRunEnd {
                status: UpgradeRunStatus::Partial,
                summary: "3 packages updated; 1 group could not be",
                pull_request_url: Some("https://github.com/acme/shop/pull/1"),
                pull_request_number: Some(1),
                applied_count: 3,
                failed_groups: 1,
            },
            at,
        )
        .await
        .unwrap();
    let second = store
        .queue_upgrade_run(
            workspace,
            UpgradeTrigger::Manual,
            Some(admin),
            std::path::Path::new("/srv/upkeep/upgrades/2"),
        )
        .await
        .unwrap();
    let ended = store
        .upgrade_run(workspace, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, UpgradeRunStatus::Partial);
    assert_eq!(
        (
            ended.pull_request_number,
            ended.applied_count,
            ended.failed_groups
        ),
        (Some(1), 3, 1)
    );
    assert!(ended.started_at.is_some() && ended.finished_at.is_some());
    assert_eq!(ended.run_dir, PathBuf::from("/srv/upkeep/upgrades/1"));
    // Another workspace's id is not found here.
    assert_eq!(
        store
            .upgrade_run(WorkspaceId(9999), first.id)
            .await
            .unwrap(),
        None
    );
    upgrade_runs_page_by_page(store, workspace, (first.id, second.id), admin).await;
    // The newer run opened no request: the newest request is the first run's.
    let request = store.latest_upgrade_request(workspace).await.unwrap();
    assert_eq!(request.map(|run| run.id), Some(first.id));
    assert_eq!(
        store
            .latest_upgrade_request(WorkspaceId(9999))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.interrupt_unfinished_upgrades(at).await.unwrap(), 1);
    let interrupted = store
        .upgrade_run(workspace, second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(interrupted.status, UpgradeRunStatus::Interrupted);
    assert!(
        store
            .finish_upgrade_run(
                9999,
                &UpgradeRunEnd {
                    status: UpgradeRunStatus::Failed,
                    summary: "",
                    pull_request_url: None,
                    pull_request_number: None,
                    applied_count: 0,
                    failed_groups: 0,
                },
                at,
            )
            .await
            .is_err()
    );
}

/// The upgrade runs of a workspace, newest first, a page at a time.
async fn upgrade_runs_page_by_page(
    store: &Store,
    workspace: WorkspaceId,
    (first, second): (i64, i64),
    admin: AccountId,
) {
    let newest = store
        .upgrade_runs(workspace, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(newest.items.len(), 1);
    assert_eq!(newest.next, Some(second));
    assert_eq!(
        (
            newest.items[0].id,
            newest.items[0].trigger,
            newest.items[0].requested_by
        ),
        (second, UpgradeTrigger::Manual, Some(admin))
    );
    let older = store
        .upgrade_runs(
            workspace,
            PageRequest {
                before: newest.next,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            older.items.iter().map(|run| run.id).collect::<Vec<_>>(),
            older.next
        ),
        (vec![first], None)
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

/// A database that an upkeep of schema 1 (then 5) wrote is migrated with its data kept; a database newer
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
    assert_eq!(store.migrate_to(5).await.unwrap(), [2, 3, 4, 5]);
    // A repository connected by URL alone, before providers.
    sqlx::query("INSERT INTO workspaces (name, created_at) VALUES ($1, $2)")
        .bind("old-shop")
        .bind(1_700_000_000_000_i64)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO repositories (workspace_id, url, connected_at, webhook_secret_sealed) \
         SELECT id, $1, $2, $3 FROM workspaces WHERE name = $4",
    )
    .bind("file:///srv/git/shop.git")
    .bind(1_700_000_000_000_i64)
    .bind("sealed")
    .bind("old-shop")
    .execute(store.pool())
    .await
    .unwrap();
    assert_eq!(store.migrate().await.unwrap(), all_versions()[5..]);
    let old = store.repositories().await.unwrap().remove(0);
    assert_eq!(
        (old.provider, old.webhook_status, old.poll_interval_seconds),
        (Provider::Git, WebhookStatus::Manual, 60)
    );
    assert_eq!(
        (old.authorisation, old.token_expires_at),
        (Authorisation::Credentials, None)
    );
    assert_eq!(old.url, "file:///srv/git/shop.git");
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
                known
            } if known == latest_version()
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
