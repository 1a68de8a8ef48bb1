-- +goose Up
-- se_files caches the sidecars of each element; it can always be rebuilt.
CREATE TABLE se_files (
    element_id  TEXT    NOT NULL,
    file_id     TEXT    NOT NULL,
    blob_key    TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL, -- Unix nanoseconds, for ordering
    version     INTEGER NOT NULL,
    meta        TEXT    NOT NULL, -- the artstore.File as JSON
    PRIMARY KEY (element_id, file_id)
);
CREATE INDEX se_files_by_time ON se_files (element_id, uploaded_at DESC, file_id);

-- se_journal is the element's log of record: every change, in seq order.
CREATE TABLE se_journal (
    element_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    file_id    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    at         INTEGER NOT NULL, -- Unix nanoseconds
    file       TEXT,             -- the artstore.File as JSON
    PRIMARY KEY (element_id, seq)
);

-- se_intents records a change to blobs or sidecars before it starts, so
-- that start-up recovery knows exactly which files to reconcile.
CREATE TABLE se_intents (
    element_id TEXT    NOT NULL,
    file_id    TEXT    NOT NULL,
    op         TEXT    NOT NULL,
    blob_key   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (element_id, file_id)
);

CREATE TABLE se_state (
    element_id TEXT    NOT NULL PRIMARY KEY,
    journal_id TEXT    NOT NULL,
    last_seq   INTEGER NOT NULL
);

-- +goose Down
DROP TABLE se_state;
DROP TABLE se_intents;
DROP TABLE se_journal;
DROP TABLE se_files;
