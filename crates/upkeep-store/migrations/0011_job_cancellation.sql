-- A cancellation asked for while an agent drives (or is about to take) a job: kept in the
-- database rather than in the memory of the server that heard it, so that it survives a
-- restart of the server and reaches the agent through any replica.
ALTER TABLE jobs ADD COLUMN cancel_requested_at BIGINT;
