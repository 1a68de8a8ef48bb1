-- +goose Up
-- cat_fts gains the facets column, which holds each live file's filter
-- terms. The rows are derived again from cat_docs when the catalog opens,
-- as cat_index says (see catalog.reindex).
DROP TABLE cat_fts;
CREATE VIRTUAL TABLE cat_fts USING fts5(
    name, tags, meta, body, facets,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- cat_index holds the version of how search entries are derived from a
-- file; a catalog below the version the code writes is reindexed.
CREATE TABLE cat_index (
    version INTEGER NOT NULL
);
INSERT INTO cat_index (version) VALUES (1);

-- +goose Down
DROP TABLE cat_index;
DROP TABLE cat_fts;
CREATE VIRTUAL TABLE cat_fts USING fts5(
    name, tags, meta, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);
