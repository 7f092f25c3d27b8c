-- The shop's customers. resetd's "user" and its "email credential" are both this one row:
-- the email columns are the customer's login, absent for phone-only customers.
CREATE TABLE shop_customers (
    id                     bigint      GENERATED ALWAYS AS IDENTITY,
    given_name             text        NULL,
    family_name            text        NULL,
    -- Picks the language of the SMS texts resetd sends ('en', 'es', 'zh-CN', ...).
    locale                 text        NULL,
    -- E.164, as resetd_domain::user::PhoneNumber normalises it.
    phone                  text        NULL,
    status                 text        NOT NULL DEFAULT 'active',
    -- argon2id PHC string; NULL until a password is set.
    password_hash          text        NULL,
    -- Optimistic lock of the password: a change names the version it read.
    password_version       bigint      NOT NULL DEFAULT 0,
    -- Bumped with every password and status change (resetd publishes it; codes sent under an
    -- older one are dead).
    credential_generation  bigint      NOT NULL DEFAULT 0,
    joined_at              timestamptz NOT NULL,
    -- The email login: lower-cased by resetd_domain::user::Email.
    email                  text        NULL,
    email_added_at         timestamptz NULL,
    last_login_at          timestamptz NULL,
    must_change_password   boolean     NOT NULL DEFAULT false,
    -- The one outstanding reset link: its HMAC digest (never the token), the id of the key
    -- that made it, its kind and lifetime.
    reset_digest           bytea       NULL,
    reset_key_id           text        NULL,
    reset_kind             text        NULL,
    reset_issued_at        timestamptz NULL,
    reset_expires_at       timestamptz NULL,
    CONSTRAINT shop_customers_pkey PRIMARY KEY (id),
    CONSTRAINT shop_customers_phone_key UNIQUE (phone),
    CONSTRAINT shop_customers_email_key UNIQUE (email),
    CONSTRAINT shop_customers_reset_digest_key UNIQUE (reset_digest),
    CONSTRAINT shop_customers_status_check CHECK (status IN ('active', 'locked', 'frozen', 'disabled')),
    CONSTRAINT shop_customers_email_check CHECK ((email IS NULL) = (email_added_at IS NULL)),
    CONSTRAINT shop_customers_reset_check CHECK (
        (reset_digest IS NULL OR email IS NOT NULL)
        AND (reset_digest IS NULL) = (reset_kind IS NULL)
        AND (reset_digest IS NULL) = (reset_issued_at IS NULL)
        AND (reset_digest IS NOT NULL OR (reset_key_id IS NULL AND reset_expires_at IS NULL))
        AND (reset_digest IS NULL OR octet_length(reset_digest) = 32)
        AND (reset_kind IS NULL OR reset_kind IN ('password_reset', 'account_setup'))
    )
);

-- Every password a customer has had, the current one included; the highest seq is the newest.
CREATE TABLE shop_password_history (
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    customer_id bigint      NOT NULL,
    hash        text        NOT NULL,
    set_at      timestamptz NOT NULL,
    CONSTRAINT shop_password_history_pkey PRIMARY KEY (seq),
    CONSTRAINT shop_password_history_customer_fkey
        FOREIGN KEY (customer_id) REFERENCES shop_customers (id) ON DELETE CASCADE
);

CREATE INDEX shop_password_history_customer_idx ON shop_password_history (customer_id, seq DESC);
