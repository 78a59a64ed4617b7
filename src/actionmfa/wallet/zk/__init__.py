"""Zero-knowledge proofs of the two-party ECDSA wallet (CGGMP21, ePrint 2021/060, §6 and App. C).

* :mod:`.pimod` — Πmod, Paillier–Blum modulus (Fig. 16), 128 non-interactive rounds.
* :mod:`.ring` — ring-Pedersen parameters and Πprm (Fig. 17), 128 rounds.
* :mod:`.pifac` — Πfac, no small factors (Fig. 28).
* :mod:`.pilog` — Πlog*, Paillier encryption of a discrete logarithm in range (Fig. 25): ``ckey``.
* :mod:`.piaffg` — Πaff-g (Fig. 15) for the client's signing ciphertext ``c3``.
* :mod:`.sizes` — the range parameters ℓ, ε and the modulus floor; trial division.
"""
