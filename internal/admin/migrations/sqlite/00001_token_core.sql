-- The token core of the admin service: service accounts, which obtain
-- access tokens with client credentials, and the RSA keys that sign them.
-- Timestamps are UTC text in a fixed-width RFC 3339 form
-- (2006-01-02T15:04:05.000000000Z), so they sort and compare as text.

-- +goose Up
CREATE TABLE service_accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    client_id   TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    not_after       TEXT,
    retired_at      TEXT
);

CREATE INDEX signing_keys_created_at ON signing_keys (created_at);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE service_accounts;
