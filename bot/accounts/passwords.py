"""Password hashing with argon2id (argon2-cffi), off the event loop.

A hash is a PHC string carrying its own parameters, so verification works across parameter changes and
`needs_rehash` tells when a stored hash was made with other parameters (then the caller stores a new one
after a successful login). Hashing takes tens of milliseconds of CPU by design: it runs in a thread
(argon2-cffi releases the GIL), never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from typing import Final, Literal

from argon2 import Parameters, PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Profile = Literal["owasp", "rfc9106_low_memory", "insecure_fast_for_tests"]

PROFILES: Final[dict[str, Parameters]] = {
    # OWASP's first recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
    "owasp": Parameters(
        type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=2, memory_cost=19 * 1024, parallelism=1
    ),
    "rfc9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    # The test suite's: microseconds per hash, and worthless against brute force.
    "insecure_fast_for_tests": profiles.CHEAPEST,
}
ONE_TIME_PASSWORD_CHARS: Final = 16
# Letters and digits that cannot be mistaken for one another when read off a terminal.
_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@functools.cache
def hasher(profile: Profile = "owasp") -> PasswordHasher:
    return PasswordHasher.from_parameters(PROFILES[profile])


async def hash_password(password: str, profile: Profile = "owasp") -> str:
    return await asyncio.to_thread(hasher(profile).hash, password)


async def verify_password(stored_hash: str, password: str, profile: Profile = "owasp") -> bool:
    """Whether `password` matches `stored_hash`; False also for a hash that is not a valid argon2 string."""
    try:
        return await asyncio.to_thread(hasher(profile).verify, stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, profile: Profile = "owasp") -> bool:
    try:
        return hasher(profile).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


# A hash of nothing anyone knows, verified against when the name is unknown, so an unknown name takes as
# long as a wrong password (names cannot be probed by timing).
@functools.cache
def dummy_hash(profile: Profile = "owasp") -> str:
    return hasher(profile).hash(secrets.token_urlsafe(16))


def one_time_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(ONE_TIME_PASSWORD_CHARS))
