-- +goose Up
-- cat_files holds one row per file_id: the element that holds the file, the
-- version the catalog has applied, a tombstone flag, and the columns that
-- searches filter and sort on. Text columns hold the folded (lower-case,
-- accent-free) forms where searches compare them case-insensitively.
-- The row is kept narrow so that scans stay cheap; the file's full JSON
-- lives in cat_docs.
CREATE TABLE cat_files (
    id               INTEGER PRIMARY KEY, -- the rowid of the file's cat_fts row
    file_id          TEXT    NOT NULL UNIQUE,
    element_id       TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    deleted          INTEGER NOT NULL,    -- 1 for a tombstone
    name_norm        TEXT    NOT NULL,    -- folded original_filename
    ext              TEXT    NOT NULL,    -- folded last extension, without the dot
    content_type     TEXT    NOT NULL,    -- lower-case
    size             INTEGER NOT NULL,
    uploaded_by      TEXT    NOT NULL,
    uploaded_at      INTEGER NOT NULL,    -- Unix nanoseconds
    retention_policy TEXT    NOT NULL,
    expires_at       INTEGER              -- Unix nanoseconds
);
-- Tombstones never appear in results, so every index leaves them out.
-- The three indexes a search can walk in sort order also carry the columns
-- searches filter on, so that a walk tests its filters, and a count over a
-- range of one of them its other conditions, without looking up the rows.
CREATE INDEX cat_files_uploaded ON cat_files (uploaded_at, file_id,
    size, element_id, retention_policy, ext, content_type, uploaded_by) WHERE deleted = 0;
CREATE INDEX cat_files_size ON cat_files (size, file_id,
    uploaded_at, element_id, retention_policy, ext, content_type, uploaded_by) WHERE deleted = 0;
CREATE INDEX cat_files_name ON cat_files (name_norm, file_id,
    uploaded_at, size, element_id, retention_policy, ext, content_type, uploaded_by) WHERE deleted = 0;
CREATE INDEX cat_files_ext      ON cat_files (ext, uploaded_at) WHERE deleted = 0;
CREATE INDEX cat_files_type     ON cat_files (content_type, uploaded_at) WHERE deleted = 0;
CREATE INDEX cat_files_uploader ON cat_files (uploaded_by, uploaded_at) WHERE deleted = 0;
CREATE INDEX cat_files_element  ON cat_files (element_id, file_id) WHERE deleted = 0;
CREATE INDEX cat_files_expiry   ON cat_files (retention_policy, expires_at) WHERE deleted = 0;

-- cat_docs holds the artstore.File JSON of each live file.
CREATE TABLE cat_docs (
    id  INTEGER PRIMARY KEY,
    doc TEXT    NOT NULL
);

CREATE TABLE cat_tags (
    id  INTEGER NOT NULL,
    tag TEXT    NOT NULL,
    PRIMARY KEY (id, tag)
) WITHOUT ROWID;
CREATE INDEX cat_tags_tag ON cat_tags (tag, id);

-- cat_meta holds each metadata value in its string form, so that filters
-- compare strings in both dialects.
CREATE TABLE cat_meta (
    id    INTEGER NOT NULL,
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE INDEX cat_meta_kv ON cat_meta (key, value, id);

-- cat_fts indexes the words of each live file, already folded and split by
-- the catalog, one column per field so that bm25 can weigh them. It is
-- contentless: the words are never read back. The tokenizer must not fold
-- anything further, or SQLite would match what PostgreSQL does not.
CREATE VIRTUAL TABLE cat_fts USING fts5(
    name, tags, meta, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- cat_names indexes the trigrams of each live file's folded name, so that
-- a filename search of three or more characters looks its matches up
-- rather than scanning every name.
CREATE VIRTUAL TABLE cat_names USING fts5(
    name,
    content = '', contentless_delete = 1,
    tokenize = 'trigram case_sensitive 1'
);

-- cat_cursors records where the catalog stands in each element's journal.
CREATE TABLE cat_cursors (
    element_id TEXT    NOT NULL PRIMARY KEY,
    journal_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL
);

-- +goose Down
DROP TABLE cat_cursors;
DROP TABLE cat_names;
DROP TABLE cat_fts;
DROP TABLE cat_meta;
DROP TABLE cat_tags;
DROP TABLE cat_docs;
DROP TABLE cat_files;
