-- The audit trail of security-relevant events.
CREATE TABLE audit_events (
    id      bigint      GENERATED ALWAYS AS IDENTITY,
    at      timestamptz NOT NULL,
    -- AuditKind::as_str, e.g. 'password_changed'.
    kind    text        NOT NULL,
    -- No foreign key on purpose: events outlive the users they are about.
    user_id bigint      NULL,
    -- Who did it: 'api:<client_id>', 'ciam:<client_id>', 'link' or 'cli'.
    actor   text        NOT NULL,
    -- Free text that never holds a secret.
    detail  text        NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (id)
);

CREATE INDEX audit_events_user_id_at_idx ON audit_events (user_id, at DESC);
