"""The MFA core: code attempts and lockout, TOTP, recovery codes, devices, completion, step-up, profile."""
