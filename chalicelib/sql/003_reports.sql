-- Delivery reports: rejections share the events' sequence, so merging both by id gives
-- creation order; a per-tenant report lease keeps one request in flight per tenant.
ALTER TABLE rejections ALTER COLUMN rejection_id SET DEFAULT nextval('events_event_id_seq');
ALTER TABLE tenants ADD COLUMN report_lease_until double precision;

-- Retention looks only at finished messages.
CREATE INDEX messages_finished_idx ON messages (tenant_id) WHERE status <> 'pending';
CREATE INDEX events_reported_idx ON events (message_pk) WHERE reported_ts IS NULL;
