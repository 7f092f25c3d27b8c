-- The credential generation of a user: bumped in the same transaction as every password
-- change and every status change. What was issued under an older generation (an OTP
-- challenge; in a later step sessions and tokens) is dead, so no committed change can leave
-- an old credential alive.
ALTER TABLE users ADD COLUMN generation bigint NOT NULL DEFAULT 0;
