-- Webhooks: each repository's secret, sealed with the server's key (never in clear here), and
-- every delivery with its verdict.
ALTER TABLE repositories ADD COLUMN webhook_secret_sealed TEXT;

CREATE TABLE deliveries (
    id {{identity}},
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX deliveries_by_workspace ON deliveries (workspace_id, id);
CREATE INDEX deliveries_by_delivery ON deliveries (provider, delivery_id);
