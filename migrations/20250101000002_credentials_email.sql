-- The email credential (Looker credentials_email) with the user's single reset token, and the
-- history of the user's passwords.
CREATE TABLE credentials_email (
    user_id                bigint      NOT NULL,
    -- Trimmed and lower-cased by the domain, so a plain unique constraint is case-insensitive.
    email                  text        NOT NULL,
    created_at             timestamptz NOT NULL,
    logged_in_at           timestamptz NULL,
    -- The user must choose a new password at next login (Looker force_password_reset_at_next_login).
    forced_reset           boolean     NOT NULL DEFAULT false,
    -- HMAC-SHA-256 of the reset token under the server's token key; never the token itself.
    -- At most one token per user: issuing a new one overwrites these four columns.
    reset_token_hash       bytea       NULL,
    reset_token_kind       text        NULL,
    reset_token_issued_at  timestamptz NULL,
    -- NULL for a non-expiring token; the token is dead from this instant on.
    reset_token_expires_at timestamptz NULL,
    CONSTRAINT credentials_email_pkey PRIMARY KEY (user_id),
    CONSTRAINT credentials_email_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT credentials_email_email_key UNIQUE (email),
    CONSTRAINT credentials_email_reset_token_hash_key UNIQUE (reset_token_hash),
    CONSTRAINT credentials_email_reset_token_hash_check CHECK (octet_length(reset_token_hash) = 32),
    CONSTRAINT credentials_email_reset_token_kind_check
        CHECK (reset_token_kind IN ('password_reset', 'account_setup')),
    -- A token is all there or all gone.
    CONSTRAINT credentials_email_reset_token_check CHECK (
        (reset_token_hash IS NULL) = (reset_token_kind IS NULL)
        AND (reset_token_hash IS NULL) = (reset_token_issued_at IS NULL)
        AND (reset_token_hash IS NOT NULL OR reset_token_expires_at IS NULL)
    )
);

CREATE TABLE password_history (
    -- Insertion order: the newest entry has the highest id (timestamps may tie).
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    user_id    bigint      NOT NULL,
    -- argon2id PHC string of a password the user has had, the current one included.
    hash       text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT password_history_pkey PRIMARY KEY (id),
    CONSTRAINT password_history_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX password_history_user_id_id_idx ON password_history (user_id, id DESC);
