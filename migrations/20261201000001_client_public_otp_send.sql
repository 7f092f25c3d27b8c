-- A public client (spa, mobile) may call /otp/send only when an operator opted it in
-- (`resetd admin set-client --allow-public-otp-send true`): with no secret, anyone can
-- trigger sends in its name, bounded only by the per-address and per-destination limits.
ALTER TABLE clients ADD COLUMN public_otp_send boolean NOT NULL DEFAULT false;
