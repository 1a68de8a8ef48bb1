-- +goose Up
-- ratelimit_counters holds one fixed-window counter per limited key. A row
-- is only worth something until expires_at; Purge deletes it after that.
CREATE TABLE ratelimit_counters (
    bucket       TEXT    NOT NULL PRIMARY KEY,
    window_start INTEGER NOT NULL, -- Unix milliseconds
    hits         INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL  -- Unix milliseconds: the window's end
);
CREATE INDEX ratelimit_counters_by_expiry ON ratelimit_counters (expires_at);

-- +goose Down
DROP TABLE ratelimit_counters;
