"""argon2id hashing: verify, refuse, re-hash when the parameters change; one-time passwords."""

from __future__ import annotations

from bot.accounts import passwords


async def test_a_hash_verifies_its_password_only() -> None:
    stored = await passwords.hash_password("正确的密码-123", "insecure_fast_for_tests")
    assert stored.startswith("$argon2id$")
    assert "正确的密码" not in stored
    assert await passwords.verify_password(stored, "正确的密码-123", "insecure_fast_for_tests")
    assert not await passwords.verify_password(stored, "正确的密码-124", "insecure_fast_for_tests")
    assert not await passwords.verify_password("not a hash", "x", "insecure_fast_for_tests")


async def test_a_hash_made_with_other_parameters_needs_a_rehash() -> None:
    cheap = await passwords.hash_password("pw-0123456789", "insecure_fast_for_tests")
    assert not passwords.needs_rehash(cheap, "insecure_fast_for_tests")
    assert passwords.needs_rehash(cheap, "owasp")
    assert "m=19456,t=2,p=1" in passwords.hasher("owasp").hash("x")  # the default's parameters
    # Verification reads the parameters from the hash: the default hasher checks the cheap hash.
    assert await passwords.verify_password(cheap, "pw-0123456789", "owasp")
    assert passwords.needs_rehash("garbage")


def test_one_time_passwords_are_long_random_and_unambiguous() -> None:
    made = {passwords.one_time_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        assert len(password) == passwords.ONE_TIME_PASSWORD_CHARS
        assert not set(password) & set("0O1lI")
