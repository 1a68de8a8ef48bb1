-- +goose Up
-- ingest_finalize is the durable state of each finalize: which copy goes
-- where, how far it got, and when the temporary copy may be removed.
CREATE TABLE ingest_finalize (
    file_id        TEXT    NOT NULL PRIMARY KEY,
    source_element TEXT    NOT NULL,
    target_element TEXT    NOT NULL,
    state          TEXT    NOT NULL, -- copying | copied | done
    checksum       TEXT    NOT NULL, -- of the source, which the copy must match
    created_at     INTEGER NOT NULL, -- Unix nanoseconds
    remove_after   INTEGER NOT NULL  -- Unix nanoseconds; for state copied
);
CREATE INDEX ingest_finalize_state ON ingest_finalize (state, remove_after);

-- +goose Down
DROP TABLE ingest_finalize;
