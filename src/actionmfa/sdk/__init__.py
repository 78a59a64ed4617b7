"""ActionMFA Python SDK."""

from actionmfa.sdk.client import AsyncClient, Client

__all__ = ["AsyncClient", "Client"]
