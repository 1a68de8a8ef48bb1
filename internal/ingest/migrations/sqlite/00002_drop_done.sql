-- +goose Up
-- A finalize's row now goes once the temporary copy is removed; earlier
-- versions kept it in a state 'done', which nothing reads.
DELETE FROM ingest_finalize WHERE state = 'done';

-- +goose Down
