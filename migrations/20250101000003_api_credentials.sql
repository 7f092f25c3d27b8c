-- Looker API credentials (client_id / client_secret pairs), each owned by a user.
CREATE TABLE api_credentials (
    client_id   text        NOT NULL,
    -- HMAC-SHA-256 of the client secret under the server's token key.
    secret_hash bytea       NOT NULL,
    user_id     bigint      NOT NULL,
    -- What sessions opened with this credential may do.
    role        text        NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT api_credentials_pkey PRIMARY KEY (client_id),
    CONSTRAINT api_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT api_credentials_secret_hash_check CHECK (octet_length(secret_hash) = 32),
    CONSTRAINT api_credentials_role_check CHECK (role IN ('admin', 'user'))
);

-- Serves the cascade when a user is deleted.
CREATE INDEX api_credentials_user_id_idx ON api_credentials (user_id);
