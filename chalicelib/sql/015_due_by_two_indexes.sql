-- Finding due messages without reading a deferred backlog (docs/operations.md "Migrations").
-- One index in dispatch order held every pending message, so a claim or a "more due?" probe
-- read, in order, every message deferred into the future ahead of the first due one: after an
-- outage that deferred a million messages by retry, about 90 ms per claim and per probe,
-- growing with them. Two halves instead: messages never deferred (or whose deferral a claim
-- settled) in dispatch order, and deferred ones by when they become due.
CREATE INDEX messages_ready_idx ON messages (tenant_id, account_id, priority, created_at, id)
    WHERE status = 'pending' AND deferred_ts IS NULL;
CREATE INDEX messages_deferred_idx ON messages (tenant_id, account_id, deferred_ts)
    WHERE status = 'pending' AND deferred_ts IS NOT NULL;
DROP INDEX messages_due_idx;
