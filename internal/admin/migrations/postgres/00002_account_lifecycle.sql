-- Service accounts gain a request rate, an expiring secret with a history
-- of earlier secrets, and soft deletion.

-- +goose Up
ALTER TABLE service_accounts ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 100;
ALTER TABLE service_accounts ADD COLUMN secret_expires_at TIMESTAMPTZ;
ALTER TABLE service_accounts ADD COLUMN deleted_at TIMESTAMPTZ;

CREATE TABLE service_account_secrets (
    account_id  TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_account_secrets_account ON service_account_secrets (account_id, created_at);

-- +goose Down
DROP TABLE service_account_secrets;
ALTER TABLE service_accounts DROP COLUMN deleted_at;
ALTER TABLE service_accounts DROP COLUMN secret_expires_at;
ALTER TABLE service_accounts DROP COLUMN rate_limit;
