"""What every area sees: the audit writer, the gate and its tokens, signing keys, sessions, environments."""
