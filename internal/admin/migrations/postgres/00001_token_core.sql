-- The token core of the admin service: service accounts, which obtain
-- access tokens with client credentials, and the RSA keys that sign them.

-- +goose Up
CREATE TABLE service_accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    client_id   TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    not_after       TIMESTAMPTZ,
    retired_at      TIMESTAMPTZ
);

CREATE INDEX signing_keys_created_at ON signing_keys (created_at);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE service_accounts;
