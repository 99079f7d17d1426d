-- Mail Proxy schema v1: the system of record.
-- Times the contract exposes as *_ts are integer Unix seconds (bigint); created_at/updated_at
-- are timestamptz.

CREATE TABLE instance_settings (
    id                    integer PRIMARY KEY CHECK (id = 1),
    name                  text NOT NULL DEFAULT 'mail-proxy',
    bounce_enabled        boolean NOT NULL DEFAULT false,
    bounce_imap_host      text,
    bounce_imap_port      integer NOT NULL DEFAULT 993,
    bounce_imap_user      text,
    bounce_imap_password_enc text,
    bounce_imap_folder    text NOT NULL DEFAULT 'INBOX',
    bounce_imap_ssl       boolean NOT NULL DEFAULT true,
    bounce_poll_interval  integer NOT NULL DEFAULT 60,
    bounce_return_path    text,
    bounce_last_uid       bigint,
    bounce_last_sync      timestamptz,
    bounce_uidvalidity    bigint,
    bounce_next_poll_ts   bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
    id                     text PRIMARY KEY,
    name                   text,
    client_auth            jsonb,          -- secrets inside are encrypted
    client_base_url        text,
    client_sync_path       text,
    client_attachment_path text,
    rate_limits            jsonb,
    large_file_config      jsonb,          -- storage secret encrypted
    active                 boolean NOT NULL DEFAULT true,
    retention_days         integer NOT NULL DEFAULT 7 CHECK (retention_days >= 0),
    suspended_batches      text[] NOT NULL DEFAULT '{}',   -- '{*}' = whole tenant
    signing_secret_enc     text NOT NULL,
    queue_url              text,
    dlq_url                text,
    -- delivery-report clock and backoff
    last_sync_ts           double precision,
    report_failures        integer NOT NULL DEFAULT 0,
    report_next_attempt_ts bigint,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    tenant_id   text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash    text NOT NULL UNIQUE,   -- SHA-256 of a 256-bit random key
    expires_at  bigint,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    tenant_id          text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 text NOT NULL,
    host               text NOT NULL,
    port               integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username           text,
    password_enc       text,
    ttl                integer NOT NULL DEFAULT 300,
    limit_per_minute   integer,
    limit_per_hour     integer,
    limit_per_day      integer,
    limit_behavior     text NOT NULL DEFAULT 'defer' CHECK (limit_behavior IN ('defer', 'reject')),
    use_tls            boolean,
    batch_size         integer NOT NULL DEFAULT 50 CHECK (batch_size >= 1),
    is_pec_account     boolean NOT NULL DEFAULT false,
    imap_host          text,
    imap_port          integer,
    imap_user          text,
    imap_password_enc  text,
    imap_ssl           boolean,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- One row per (tenant, client id). status holds only the stored state; 'deferred' and
-- 'suspended' are derived when reading (deferred_ts set / batch held).
CREATE TABLE messages (
    pk            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    account_id    text NOT NULL,
    priority      smallint NOT NULL DEFAULT 2 CHECK (priority BETWEEN 0 AND 3),
    batch_code    text,
    payload       jsonb NOT NULL,          -- accepted payload, secrets removed
    secrets_enc   text,                    -- encrypted attachment auth secrets, if any
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'error', 'bounced')),
    deferred_ts   bigint,
    retry_count   integer NOT NULL DEFAULT 0,
    last_error    text,
    sent_ts       bigint,
    error_ts      bigint,
    error         text,
    bounce_type   text,
    bounce_code   text,
    bounce_reason text,
    bounce_ts     bigint,
    is_pec        boolean NOT NULL DEFAULT false,
    -- lease of the dispatcher that claimed it; an expired lease makes it due again
    claim_owner   text,
    claim_expires bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

-- The claim query: due messages of one account in dispatch order.
CREATE INDEX messages_due_idx ON messages (tenant_id, account_id, priority, created_at, id)
    WHERE status = 'pending';
CREATE INDEX messages_unfinished_idx ON messages (tenant_id) WHERE status = 'pending';
CREATE INDEX messages_order_idx ON messages (tenant_id, priority, created_at, id);

CREATE TABLE events (
    event_id     bigserial PRIMARY KEY,
    message_pk   uuid NOT NULL REFERENCES messages (pk) ON DELETE CASCADE,
    tenant_id    text NOT NULL,
    event_type   text NOT NULL CHECK (event_type IN ('sent', 'error', 'deferred', 'bounce')),
    event_ts     bigint NOT NULL,
    description  text,
    metadata     jsonb,
    reported_ts  bigint
);
CREATE INDEX events_message_idx ON events (message_pk, event_ts, event_id);
CREATE INDEX events_unreported_idx ON events (tenant_id, event_id) WHERE reported_ts IS NULL;

-- Per-message rejections owed to the tenant's next delivery report (docs/api.md §4.3).
CREATE TABLE rejections (
    rejection_id bigserial PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    error_ts     bigint NOT NULL,
    error        text NOT NULL,
    reported_ts  bigint
);
CREATE INDEX rejections_unreported_idx ON rejections (tenant_id, rejection_id)
    WHERE reported_ts IS NULL;

-- Fixed-window rate counters: one row per account, window kind and window start.
CREATE TABLE rate_counters (
    tenant_id    text NOT NULL,
    account_id   text NOT NULL,
    window_kind  text NOT NULL CHECK (window_kind IN ('minute', 'hour', 'day')),
    window_start bigint NOT NULL,
    used         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, account_id, window_kind, window_start),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

-- Persisted, monotonic Prometheus counters.
CREATE TABLE metric_counters (
    tenant_id   text NOT NULL,
    account_id  text NOT NULL,
    name        text NOT NULL,
    value       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, account_id, name),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE command_log (
    id              bigserial PRIMARY KEY,
    command_ts      bigint NOT NULL,
    endpoint        text NOT NULL,
    tenant_id       text,
    payload         jsonb,
    response_status integer NOT NULL
);
CREATE INDEX command_log_ts_idx ON command_log (command_ts, id);
