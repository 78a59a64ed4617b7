"""The operator side: environments, admin tokens, audit queries, the dashboard, MFA reset, key rotation."""
