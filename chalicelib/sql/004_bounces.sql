-- One bounce poll at a time: a lease on the instance row.
ALTER TABLE instance_settings ADD COLUMN bounce_lease_until double precision;
-- Bounce matching looks messages up by client id across tenants.
CREATE INDEX messages_id_idx ON messages (id) WHERE status IN ('sent', 'bounced');
