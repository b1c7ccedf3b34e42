"""Generated passwords and their bcrypt hashes, as NativeAuthenticator checks them."""

import os
import secrets
from concurrent.futures import ProcessPoolExecutor

# No look-alikes (0/O, 1/l/I): these passwords are read off paper in a workshop.
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 3, 4  # 12 characters from 57: about 70 bits
# bcrypt's cost: generated passwords carry ~70 bits, far beyond any guessing, so
# a lower cost than a chosen password's (12) keeps them safe and a 200-person
# import fast (cost 8: ~15 ms a hash here, against ~60 ms at 10).
GENERATED_COST = 8
CHOSEN_COST = 12


def generate():
    """A password like `k7Qm-x3Ht-Pw9a`."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def hash_password(password, cost=CHOSEN_COST):
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost))


def hash_many(passwords, cost=GENERATED_COST):
    """Hash passwords on every core, in order (bcrypt keeps the GIL: threads do not help)."""
    passwords = list(passwords)
    if len(passwords) < 20:
        return [hash_password(password, cost) for password in passwords]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(hash_password, passwords, [cost] * len(passwords), chunksize=16))


def matches(password, hashed):
    import bcrypt

    return bcrypt.checkpw(password.encode(), hashed)
