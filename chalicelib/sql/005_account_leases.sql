-- One dispatch run sends for an account at a time, so an account never sees more than
-- MAILPROXY_SMTP_CONNECTIONS connections, however many invocations run for its tenant.
ALTER TABLE accounts ADD COLUMN dispatch_owner text;
ALTER TABLE accounts ADD COLUMN dispatch_lease_until bigint;
