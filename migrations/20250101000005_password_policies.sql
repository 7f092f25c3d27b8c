-- Stored password policies. The row named 'default' is the default policy (the one Looker's
-- password_config edits); until it exists the configured default applies.
CREATE TABLE password_policies (
    name       text        NOT NULL,
    -- A PasswordPolicy serialised as JSON.
    policy     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT password_policies_pkey PRIMARY KEY (name)
);
