-- What a committed change still owes the world, written in the change's own transaction and
-- delivered with retries by the outbox worker of every resetd process: the credential
-- generation to publish to the session store, and the "password changed" notice (which holds
-- no secret). A delivered row is deleted.
CREATE TABLE outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    -- No foreign key on purpose: a deleted user's row still ends its sessions.
    user_id     bigint      NOT NULL,
    generation  bigint      NULL,
    -- {"channel": "email" | "sms", "address", "language", "name"}.
    notice      jsonb       NULL,
    -- Deliveries tried so far; a claimed row is leased by moving due_at forward.
    attempts    integer     NOT NULL DEFAULT 0,
    due_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT outbox_pkey PRIMARY KEY (id)
);

CREATE INDEX outbox_due_at_idx ON outbox (due_at);
