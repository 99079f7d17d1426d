-- Suppression list (docs/api.md §7.1): per tenant, addresses in lower case.
ALTER TABLE tenants ADD COLUMN suppression_enabled boolean NOT NULL DEFAULT true;
ALTER TABLE tenants ADD COLUMN report_extensions boolean NOT NULL DEFAULT false;

CREATE TABLE suppressions (
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    address    text NOT NULL CHECK (address = lower(address)),
    reason     text NOT NULL
               CHECK (reason IN ('hard_bounce', 'smtp_rejected', 'complaint', 'unsubscribe', 'manual')),
    created_ts bigint NOT NULL,
    message_id text,
    detail     text,
    seq        bigserial NOT NULL UNIQUE,   -- newest first, and the listing's cursor
    PRIMARY KEY (tenant_id, address)        -- the dispatcher's lookup: address = ANY (...)
);
CREATE INDEX suppressions_newest_idx ON suppressions (tenant_id, seq DESC);
