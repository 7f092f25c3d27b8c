-- Users: identity, profile, status and the current password.
-- The password lives here, not on the email credential, so phone-only (CIAM) users have one too.
CREATE TABLE users (
    -- Looker 4.0 writes ids as strings of digits; resetd keeps them as positive bigints.
    id               bigint      GENERATED ALWAYS AS IDENTITY,
    first_name       text        NULL,
    last_name        text        NULL,
    -- A language tag such as 'es' or 'zh-CN', used to pick message templates.
    locale           text        NULL,
    -- E.164 (or the 11-digit mainland-China form), as normalised by the domain.
    phone            text        NULL,
    status           text        NOT NULL DEFAULT 'active',
    -- argon2id PHC string; NULL until the user first sets a password.
    password_hash    text        NULL,
    -- Bumped by every password change: a change names the version it read (optimistic locking).
    password_version bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_phone_key UNIQUE (phone),
    CONSTRAINT users_status_check CHECK (status IN ('active', 'locked', 'frozen', 'disabled'))
);
