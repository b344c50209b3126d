-- The repository a workspace is connected to. Credentials are not kept here (they will be
-- encrypted at rest, outside the database).
CREATE TABLE repositories (
    workspace_id BIGINT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    connected_by BIGINT REFERENCES accounts (id),
    connected_at BIGINT NOT NULL
);
