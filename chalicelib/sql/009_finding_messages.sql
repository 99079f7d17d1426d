-- Finding messages (docs/api.md §7.5): a message's recipients, lower case, for q=;
-- and the created_at range of a tenant's messages.
ALTER TABLE messages ADD COLUMN recipients text[];
CREATE INDEX messages_recipients_idx ON messages USING gin (recipients);
CREATE INDEX messages_created_idx ON messages (tenant_id, created_at);
