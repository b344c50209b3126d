-- Remote agents and the queue they take work from. An agent is known by the hash of its token
-- and carries labels; a job (a run to drive, or the decision on a waiting run) may require
-- labels, and is leased by one agent at a time until its lease expires: an expired lease puts
-- the job back in the queue.
CREATE TABLE agents (
    id {{identity}},
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE agent_labels (
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (agent_id, label)
);

CREATE TABLE jobs (
    id {{identity}},
    run_key TEXT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    revision TEXT,
    requested_by TEXT NOT NULL,
    state TEXT NOT NULL,
    agent_id BIGINT REFERENCES agents (id),
    lease_expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    queued_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_by_state ON jobs (state, id);

CREATE TABLE job_labels (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (job_id, label)
);
