-- +goose Up
-- se_registry holds one row per storage element the admin service knows.
-- The element's own fields (mode, capacity, file_count, backend, version)
-- are a cache of its last answer to GET /api/v1/info; the registration's
-- fields (name, description, url, priority) belong to the registry.
CREATE TABLE se_registry (
    element_id         TEXT    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL DEFAULT '',
    url                TEXT    NOT NULL UNIQUE,
    priority           INTEGER NOT NULL,
    priority_explicit  INTEGER NOT NULL DEFAULT 0, -- 1: set by an operator, not taken from the element
    mode               TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    capacity_total     BIGINT  NOT NULL DEFAULT 0,
    capacity_used      BIGINT  NOT NULL DEFAULT 0,
    capacity_available BIGINT  NOT NULL DEFAULT 0,
    file_count         BIGINT  NOT NULL DEFAULT 0,
    backend            TEXT    NOT NULL DEFAULT '',
    version            TEXT    NOT NULL DEFAULT '',
    last_seen_at       BIGINT,                     -- Unix microseconds of the last good answer
    last_error         TEXT    NOT NULL DEFAULT '',
    created_at         BIGINT  NOT NULL,           -- Unix microseconds
    updated_at         BIGINT  NOT NULL            -- Unix microseconds
);
CREATE INDEX se_registry_by_priority ON se_registry (priority, element_id);

-- +goose Down
DROP TABLE se_registry;
