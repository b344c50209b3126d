-- Repositories connected by OAuth: how the token was given (pasted, or granted through the
-- provider's OAuth app), GitLab's refresh token (sealed, as every credential) and when the
-- access token expires, and why the last refresh failed, for the repository's status.
ALTER TABLE repositories ADD COLUMN authorised_by TEXT NOT NULL DEFAULT 'credentials'
    CHECK (authorised_by IN ('credentials', 'oauth'));
ALTER TABLE repositories ADD COLUMN refresh_token_sealed TEXT;
ALTER TABLE repositories ADD COLUMN token_expires_at BIGINT;
ALTER TABLE repositories ADD COLUMN token_error TEXT;

-- An OAuth authorisation on its way: started by a super user of a workspace, it waits for the
-- provider to send the browser back with a code and the `state`, which is kept only hashed.
-- It is used once and expires; what it will connect is kept here until then (no secret).
CREATE TABLE oauth_authorisations (
    id {{identity}},
    state_hash TEXT NOT NULL UNIQUE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab')),
    url TEXT NOT NULL,
    api_base TEXT,
    forge_path TEXT,
    poll_interval_seconds BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oauth_authorisations_by_expiry ON oauth_authorisations (expires_at);
