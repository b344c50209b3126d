-- Lists are read newest first a page at a time (keyset on the id): each list gets an index on
-- its owner and id, so a page is one index range. The runs of one environment, the audit log
-- and the deliveries have theirs already.
CREATE INDEX runs_by_workspace ON runs (workspace_id, id);
CREATE INDEX api_tokens_by_account ON api_tokens (account_id, id);
CREATE INDEX invitations_by_workspace ON invitations (workspace_id, id);
