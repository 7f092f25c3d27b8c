"""Drives resetd with the official Looker Python SDK, unchanged.

Settings come from LOOKERSDK_* variables, as an operator would set them. Extra variables:
RESETD_USER_CLIENT_ID / RESETD_USER_CLIENT_SECRET (a non-admin API credential) and
RESETD_NEW_EMAIL (the email of the user this script creates). Exits non-zero on the first
failed check.
"""

import os
import sys

import looker_sdk
from looker_sdk import error, models40 as models

base = os.environ["LOOKERSDK_BASE_URL"].rstrip("/")
email = os.environ["RESETD_NEW_EMAIL"]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


with looker_sdk.init40() as sdk:
    me = sdk.me()
    check(isinstance(me.id, str) and me.id.isdigit(), "me() returns a string id")

    user = sdk.create_user(models.WriteUser(first_name="Py", last_name="Sdk", locale="en"))
    check(user.first_name == "Py" and user.display_name == "Py Sdk", "create_user")

    cred = sdk.create_user_credentials_email(user.id, models.WriteCredentialsEmail(email=email))
    check(cred.email == email and cred.user_id == user.id and cred.type == "email", "create_user_credentials_email")

    reset = sdk.create_user_credentials_email_password_reset(user.id, expires=True)
    check(reset.password_reset_url.startswith(base + "/password/reset/"), "expiring reset link")
    check(reset.password_reset_url_expired is False, "password_reset_url_expired is false")
    check(reset.can == {"show_password_reset_url": True}, "can.show_password_reset_url")

    forever = sdk.create_user_credentials_email_password_reset(user.id, expires=False)
    check(forever.password_reset_url != reset.password_reset_url, "a new token replaces the old")

    some = sdk.create_user_credentials_email_password_reset(user.id, fields="email,password_reset_url")
    check(some.email == email and some.password_reset_url and some.user_id is None, "fields is honoured")

    try:
        sdk.create_user_credentials_email_password_reset("999999", expires=True)
        check(False, "an unknown user raises SDKError")
    except error.SDKError as e:
        check(e.message == "Not found", "an unknown user raises SDKError with the message")

    config = sdk.password_config()
    check(config.min_length is not None, "password_config")

os.environ["LOOKERSDK_CLIENT_ID"] = os.environ["RESETD_USER_CLIENT_ID"]
os.environ["LOOKERSDK_CLIENT_SECRET"] = os.environ["RESETD_USER_CLIENT_SECRET"]
with looker_sdk.init40() as plain:
    try:
        plain.create_user_credentials_email_password_reset(user.id, expires=True)
        check(False, "a non-admin gets SDKError")
    except error.SDKError as e:
        check(e.message.startswith("Forbidden"), "a non-admin gets SDKError for 403")

print("looker_sdk: all checks passed")
