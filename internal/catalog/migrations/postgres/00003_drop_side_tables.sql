-- +goose Up
-- Tag and metadata filters are terms of the full-text index (see
-- 00002_filter_terms); nothing reads cat_tags and cat_meta any more.
DROP TABLE cat_meta;
DROP TABLE cat_tags;

-- +goose Down
-- The tables come back empty: a catalog is derived data, and one taken
-- back to the older schema must be rebuilt from the elements' journals.
CREATE TABLE cat_tags (
    id  BIGINT NOT NULL,
    tag TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (id, tag)
);
CREATE INDEX cat_tags_tag ON cat_tags (tag, id);
CREATE TABLE cat_meta (
    id    BIGINT NOT NULL,
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (id, key)
);
CREATE INDEX cat_meta_kv ON cat_meta (key, value, id);
