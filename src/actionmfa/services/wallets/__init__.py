"""Embedded wallets: the vault, the user ceremonies, reshare, delegated signing, operator actions, views."""
