"""ActionMFA Python SDK: ``Client`` and ``AsyncClient`` (same typed surface), errors in ``actionmfa.sdk.errors``."""

from actionmfa.sdk.async_client import AsyncClient, AsyncSolanaWallet, AsyncWallet
from actionmfa.sdk.client import Client

__all__ = ["AsyncClient", "AsyncSolanaWallet", "AsyncWallet", "Client"]
