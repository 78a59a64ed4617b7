"""Two-party threshold Ed25519 for Solana wallets: FROST(Ed25519, SHA-512), RFC 9591.

``group``      the edwards25519 group and scalars, on libsodium (PyNaCl's bindings)
``signing``    RFC 9591 §4–5: commitments, binding factors, shares, aggregation
``dkg``        the FROST paper's KeyGen with proofs of knowledge; refresh by shares of zero
``transcript`` the context strings that bind key generation and refresh to one ceremony and role
``keys``       a party's key share; Ed25519 verification by an independent implementation
``messages``   the wire form of the messages
``ceremony``   the user's and the server's steps, as the HTTP ceremonies run them
"""
