-- Liveness of the scheduled functions, reported by GET /status.
CREATE TABLE heartbeats (
    name     text PRIMARY KEY,
    beat_ts  bigint NOT NULL
);
