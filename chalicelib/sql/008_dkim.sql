-- DKIM (docs/api.md §7.4): domain, selector, algorithm, the DNS record, the key encrypted.
ALTER TABLE tenants ADD COLUMN dkim jsonb;
