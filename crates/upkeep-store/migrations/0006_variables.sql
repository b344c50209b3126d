-- Variables and secrets of a workspace (environment '') or of one of its environments, given to
-- every step of its runs. A secret's value is sealed with the server's key (never in clear
-- here): exactly one of `value` and `sealed_value` is set.
CREATE TABLE variables (
    id {{identity}},
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT,
    sealed_value TEXT,
    updated_by BIGINT REFERENCES accounts (id),
    updated_at BIGINT NOT NULL,
    UNIQUE (workspace_id, environment, name),
    CHECK ((value IS NULL) <> (sealed_value IS NULL))
);
