-- What happened to whom (resetd_ports::audit). No foreign key: the trail outlives customers.
CREATE TABLE shop_audit (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL,
    kind        text        NOT NULL,
    customer_id bigint      NULL,
    actor       text        NOT NULL,
    detail      text        NOT NULL,
    CONSTRAINT shop_audit_pkey PRIMARY KEY (id)
);

CREATE INDEX shop_audit_customer_idx ON shop_audit (customer_id, occurred_at DESC, id DESC);

-- What a committed change still owes (resetd_ports::outbox): a credential generation to publish
-- to resetd's session store, and a "password changed" notice. The shop's process drives
-- resetd's OutboxWorker, which leases, delivers and deletes these rows.
CREATE TABLE shop_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    -- No foreign key: the row of a deleted customer still ends its sessions.
    customer_id     bigint      NOT NULL,
    generation      bigint      NULL,
    -- The notice, if any: 'email' or 'sms', the address, a language tag, a name.
    notice_channel  text        NULL,
    notice_address  text        NULL,
    notice_language text        NULL,
    notice_name     text        NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    -- A claimed row is leased by moving this forward.
    due_at          timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT shop_outbox_pkey PRIMARY KEY (id),
    CONSTRAINT shop_outbox_notice_check CHECK (
        (notice_channel IS NULL) = (notice_address IS NULL)
        AND (notice_channel IS NULL) = (notice_language IS NULL)
        AND (notice_channel IS NULL OR notice_channel IN ('email', 'sms'))
    )
);

CREATE INDEX shop_outbox_due_idx ON shop_outbox (due_at, id);
