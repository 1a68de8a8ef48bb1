-- +goose Up
-- Verify asks, for every object the backend lists, whether the index holds
-- a file stored under that key.
CREATE INDEX se_files_by_key ON se_files (element_id, blob_key);

-- +goose Down
DROP INDEX se_files_by_key;
