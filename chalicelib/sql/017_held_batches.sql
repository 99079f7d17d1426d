-- A suspended batch is set aside, not walked (docs/operations.md "Migrations").
-- The claim found the due messages of an account in messages_ready_idx and then dropped
-- those of suspended batches one by one: a claim of 50 behind a suspended batch of 1 M
-- messages read all of it, 355-940 ms each time (the account's every claim, every tick's
-- probe). `held` marks the pending messages of a suspended batch; the due indexes leave them
-- out. The suspension list (tenants.suspended_batches) stays the rule every query checks;
-- `held` only keeps the indexes small, and is brought in line with the list in bounded
-- steps (hold_changes: what is left to do, finished by the request or the next tick).
ALTER TABLE messages ADD COLUMN held boolean NOT NULL DEFAULT false;

CREATE INDEX messages_ready_unheld_idx ON messages (tenant_id, account_id, priority, created_at, id)
    WHERE status = 'pending' AND deferred_ts IS NULL AND NOT held;
CREATE INDEX messages_deferred_unheld_idx ON messages (tenant_id, account_id, deferred_ts)
    WHERE status = 'pending' AND deferred_ts IS NOT NULL AND NOT held;
DROP INDEX messages_ready_idx;
DROP INDEX messages_deferred_idx;
ALTER INDEX messages_ready_unheld_idx RENAME TO messages_ready_idx;
ALTER INDEX messages_deferred_unheld_idx RENAME TO messages_deferred_idx;

-- A batch's pending messages, held or not, in dispatch order: suspending or activating a batch
-- changes the first N still to change, so an activation lets the first due go first.
CREATE INDEX messages_batch_idx ON messages (tenant_id, batch_code, held, priority, created_at, id)
    WHERE status = 'pending' AND batch_code IS NOT NULL;

CREATE SEQUENCE hold_changes_version;
CREATE TABLE hold_changes (
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    batch_code text NOT NULL,
    -- Renewed by each suspend/activate of the batch: only a settle that began after it ends it.
    version    bigint NOT NULL DEFAULT nextval('hold_changes_version'),
    PRIMARY KEY (tenant_id, batch_code)
);

-- The batches suspended today are settled by the first ticks after the upgrade.
INSERT INTO hold_changes (tenant_id, batch_code)
SELECT t.id, b FROM tenants t, unnest(t.suspended_batches) AS b WHERE b <> '*';
