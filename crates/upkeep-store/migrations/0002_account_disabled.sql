-- Accounts an admin disabled keep their history but cannot sign in.
ALTER TABLE accounts ADD COLUMN disabled_at BIGINT;
