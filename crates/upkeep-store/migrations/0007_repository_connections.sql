-- Connections by provider: GitHub, GitLab (also self-hosted) or any git URL, with credentials
-- sealed with the server's key (never in clear here); the webhook as it was set up; polling;
-- and the branch heads last seen, so that a push is run once whether a webhook or polling
-- saw it first.
ALTER TABLE repositories ADD COLUMN provider TEXT NOT NULL DEFAULT 'git'
    CHECK (provider IN ('git', 'github', 'gitlab'));
ALTER TABLE repositories ADD COLUMN api_base TEXT;
ALTER TABLE repositories ADD COLUMN forge_path TEXT;
ALTER TABLE repositories ADD COLUMN username TEXT;
ALTER TABLE repositories ADD COLUMN token_sealed TEXT;
ALTER TABLE repositories ADD COLUMN password_sealed TEXT;
ALTER TABLE repositories ADD COLUMN ssh_key_sealed TEXT;
ALTER TABLE repositories ADD COLUMN webhook_status TEXT NOT NULL DEFAULT 'manual'
    CHECK (webhook_status IN ('manual', 'registered', 'receiving'));
ALTER TABLE repositories ADD COLUMN webhook_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN webhook_hook_id BIGINT;
ALTER TABLE repositories ADD COLUMN poll_interval_seconds BIGINT NOT NULL DEFAULT 60;

CREATE TABLE repository_heads (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    branch TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    seen_by TEXT NOT NULL CHECK (seen_by IN ('connect', 'webhook', 'poll')),
    PRIMARY KEY (workspace_id, branch)
);
