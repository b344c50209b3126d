-- Browser sessions: the cookie holds a random token, the database its hash. Each session has
-- its own CSRF token for forms and cookie-authenticated API calls.
CREATE TABLE sessions (
    id {{identity}},
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);
