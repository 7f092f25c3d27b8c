-- A CIAM client's own login settings, where they differ from the service's: token lifetimes
-- and the login lockout (`resetd admin set-client --login '{"access_token_ttl_secs": 300}'`).
-- An object of optional positive integers; '{}' keeps every setting of the service.
ALTER TABLE clients ADD COLUMN login jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE clients ADD CONSTRAINT clients_login_check CHECK (jsonb_typeof(login) = 'object');
