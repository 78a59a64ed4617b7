"""What a Solana wallet signs: messages parsed by the server itself (``payloads``) and the facts an
approval prompt shows about them (``summary``)."""
