"""Passkeys as an MFA method: WebAuthn ceremonies, verification, management."""
