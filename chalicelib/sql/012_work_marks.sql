-- One outstanding work record per tenant. Sending a dispatch record sets work_outstanding
-- (and work_sent_ts); the run clears it when it ends, then looks for due messages once more.
-- While it is set, a submit or a tick sends nothing more for the tenant: a backlog of
-- add-messages calls makes one record, not one invocation each that finds the account's
-- lease taken. A mark older than limits.WORK_RECORD_STALE is presumed lost (a send that
-- failed after the mark, a queue that went) and is replaced by the next tick.
-- work_sent_ts, kept after the run, orders the retry tick: least recently served first.
ALTER TABLE tenants ADD COLUMN work_outstanding boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN work_sent_ts bigint;
