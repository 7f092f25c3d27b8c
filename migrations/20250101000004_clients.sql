-- CIAM applications (clients) and the password policy their users get.
CREATE TABLE clients (
    id            text        NOT NULL,
    name          text        NOT NULL,
    client_type   text        NOT NULL,
    -- HMAC-SHA-256 of the client secret; NULL for public clients (spa, mobile).
    secret_hash   bytea       NULL,
    -- 'default': the stored default policy; 'preset': policy_preset names a configured preset;
    -- 'custom': policy holds the client's own PasswordPolicy as JSON.
    policy_kind   text        NOT NULL,
    policy_preset text        NULL,
    policy        jsonb       NULL,
    enabled       boolean     NOT NULL DEFAULT true,
    -- The "reset password" flow switch of the application.
    reset_enabled boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    CONSTRAINT clients_pkey PRIMARY KEY (id),
    CONSTRAINT clients_client_type_check CHECK (client_type IN ('web', 'spa', 'mobile', 'm2m')),
    CONSTRAINT clients_secret_hash_check CHECK (octet_length(secret_hash) = 32),
    CONSTRAINT clients_policy_kind_check CHECK (
        (policy_kind = 'default' AND policy_preset IS NULL AND policy IS NULL)
        OR (policy_kind = 'preset' AND policy_preset IS NOT NULL AND policy IS NULL)
        OR (policy_kind = 'custom' AND policy_preset IS NULL AND policy IS NOT NULL)
    )
);
