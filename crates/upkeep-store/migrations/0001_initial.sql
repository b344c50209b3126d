-- The first schema: people, workspaces, invitations, API tokens, runs and the audit log.
-- Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE accounts (
    id {{identity}},
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE workspaces (
    id {{identity}},
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('super_user', 'regular_user')),
    PRIMARY KEY (workspace_id, account_id)
);

CREATE TABLE invitations (
    id {{identity}},
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('super_user', 'regular_user')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by BIGINT REFERENCES accounts (id),
    revoked_at BIGINT
);

CREATE TABLE api_tokens (
    id {{identity}},
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE runs (
    id {{identity}},
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_key TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger TEXT NOT NULL,
    requested_by BIGINT REFERENCES accounts (id),
    commit_id TEXT,
    run_dir TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX runs_by_environment ON runs (workspace_id, environment, id);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE audit_log (
    id {{identity}},
    workspace_id BIGINT REFERENCES workspaces (id) ON DELETE CASCADE,
    actor BIGINT REFERENCES accounts (id),
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_by_workspace ON audit_log (workspace_id, id);
