-- Retention by an indexed time column, in batches (docs/operations.md "Retention").
-- acked_ts: when a finished message's last event was acknowledged by a delivery report (the
-- §5.12 reported_ts the retention compares); set by the report's acknowledgement, cleared by
-- retention if a later event (a bounce) is still unacknowledged. Each tenant's candidates are
-- one index range: the run's cost follows the rows it removes, not the table's size.
ALTER TABLE messages ADD COLUMN acked_ts bigint;
UPDATE messages m SET acked_ts = (SELECT max(e.reported_ts) FROM events e WHERE e.message_pk = m.pk)
 WHERE m.status <> 'pending'
   AND EXISTS (SELECT 1 FROM events e WHERE e.message_pk = m.pk)
   AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_pk = m.pk AND e.reported_ts IS NULL);
CREATE INDEX messages_acked_idx ON messages (tenant_id, acked_ts) WHERE acked_ts IS NOT NULL;
CREATE INDEX rejections_reported_idx ON rejections (tenant_id, reported_ts) WHERE reported_ts IS NOT NULL;
-- Past rate windows are pruned (a day's minute windows: 1,440 rows per limited account).
CREATE INDEX rate_counters_window_idx ON rate_counters (window_start);
