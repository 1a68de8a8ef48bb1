-- +goose Up
-- audit_records is the audit trail: one row per recorded action, each MAC
-- chained to the one before it in seq order, so that editing, removing,
-- inserting or reordering rows breaks the chain.
CREATE TABLE audit_records (
    seq         INTEGER NOT NULL PRIMARY KEY,
    at          INTEGER NOT NULL, -- Unix microseconds, UTC
    actor       TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    source_addr TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    mac         TEXT    NOT NULL  -- hex HMAC-SHA256 over the previous MAC and this row
);
CREATE INDEX audit_records_by_actor ON audit_records (actor, seq);
CREATE INDEX audit_records_by_action ON audit_records (action, seq);
CREATE INDEX audit_records_by_target ON audit_records (target, seq);
CREATE INDEX audit_records_by_at ON audit_records (at);

-- audit_head names the end of the chain. It is updated in the same
-- transaction as every append and carries its own MAC, so removing records
-- from the end of the chain is detected as well.
CREATE TABLE audit_head (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL,
    last_mac TEXT    NOT NULL,
    mac      TEXT    NOT NULL
);

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_records;
