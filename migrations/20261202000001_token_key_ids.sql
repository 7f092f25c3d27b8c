-- The id of the token key each long-lived digest was made under (16 hex digits, a MAC of a
-- fixed label under the key), so `resetd admin key-status` can tell which records still need
-- an old key. NULL: written before key ids were recorded; any key of the ring may verify it,
-- and the server labels such rows while it runs with one key only.
ALTER TABLE credentials_email
    ADD COLUMN reset_token_key text NULL,
    ADD CONSTRAINT credentials_email_reset_token_key_check
        CHECK (reset_token_key IS NULL OR (reset_token_key ~ '^[0-9a-f]{16}$' AND reset_token_hash IS NOT NULL));
ALTER TABLE api_credentials
    ADD COLUMN secret_key text NULL,
    ADD CONSTRAINT api_credentials_secret_key_check CHECK (secret_key ~ '^[0-9a-f]{16}$');
ALTER TABLE clients
    ADD COLUMN secret_key text NULL,
    ADD CONSTRAINT clients_secret_key_check CHECK (secret_key IS NULL OR (secret_key ~ '^[0-9a-f]{16}$' AND secret_hash IS NOT NULL));
