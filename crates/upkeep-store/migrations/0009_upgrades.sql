-- The upgrader as a service: each workspace's schedule (cron in a time zone) and the settings
-- that override the `[upgrade]` table of upkeep.toml (NULL: as the file says), and the history
-- of upgrade runs. A run's plan, report and log are files in its run directory; the database
-- holds where they are and how the run ended.
CREATE TABLE upgrade_schedules (
    workspace_id BIGINT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    enabled BIGINT NOT NULL DEFAULT 1,
    cron TEXT NOT NULL DEFAULT '0 8 * * MON',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    refresh BIGINT NOT NULL DEFAULT 0,
    max_minor BIGINT,
    max_patch BIGINT,
    max_groups BIGINT,
    -- 1 when the workspace sets its own reviewers (the rows below, possibly none).
    reviewers_set BIGINT NOT NULL DEFAULT 0,
    base_branch TEXT,
    -- The schedule fires at its first time after this one.
    last_fired_at BIGINT NOT NULL,
    updated_by BIGINT REFERENCES accounts (id),
    updated_at BIGINT NOT NULL
);

CREATE TABLE upgrade_reviewers (
    workspace_id BIGINT NOT NULL REFERENCES upgrade_schedules (workspace_id) ON DELETE CASCADE,
    ordinal BIGINT NOT NULL,
    login TEXT NOT NULL,
    PRIMARY KEY (workspace_id, ordinal)
);

CREATE TABLE upgrade_runs (
    id {{identity}},
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    requested_by BIGINT REFERENCES accounts (id),
    status TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    summary TEXT NOT NULL DEFAULT '',
    pull_request_url TEXT,
    pull_request_number BIGINT,
    applied_count BIGINT NOT NULL DEFAULT 0,
    failed_groups BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX upgrade_runs_by_workspace ON upgrade_runs (workspace_id, id);
CREATE INDEX upgrade_runs_by_status ON upgrade_runs (status);
