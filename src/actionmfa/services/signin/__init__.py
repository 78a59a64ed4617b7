"""Sign-in: email one-time codes, external JWTs, the session lifecycle, outgoing mail."""
