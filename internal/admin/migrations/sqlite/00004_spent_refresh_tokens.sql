-- +goose Up
-- A refresh token's row is deleted when the token is spent or revoked,
-- instead of being marked; marked rows are gone already.
DELETE FROM refresh_tokens WHERE revoked_at IS NOT NULL;
ALTER TABLE refresh_tokens DROP COLUMN revoked_at;

-- +goose Down
ALTER TABLE refresh_tokens ADD COLUMN revoked_at TEXT;
