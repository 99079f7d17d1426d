-- One-click unsubscribe (7.3) and complaints (7.2): their times on the message, their events.
ALTER TABLE tenants ADD COLUMN unsubscribe jsonb;
ALTER TABLE messages ADD COLUMN unsubscribed_ts bigint;
ALTER TABLE messages ADD COLUMN complaint_ts bigint;
ALTER TABLE events DROP CONSTRAINT events_event_type_check;
ALTER TABLE events ADD CONSTRAINT events_event_type_check
    CHECK (event_type IN ('sent', 'error', 'deferred', 'bounce', 'unsubscribed', 'complaint'));
