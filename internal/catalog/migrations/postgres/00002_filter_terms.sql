-- +goose Up
-- The tsvector of each live file gains its filter terms; the catalog
-- derives them again from cat_docs when it opens, as cat_index says (see
-- catalog.reindex).
CREATE TABLE cat_index (
    version INTEGER NOT NULL
);
INSERT INTO cat_index (version) VALUES (1);

-- +goose Down
DROP TABLE cat_index;
