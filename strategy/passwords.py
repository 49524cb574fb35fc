"""The one password policy of the app and the CLI.

A password is refused when it is shorter than :data:`MIN_LENGTH` characters, blank (only spaces),
one character repeated, a plain run such as ``123456789012``, or on the list of common passwords
shipped with the package (``strategy/data/common_passwords.txt``, compared in lower case). The rule is the same for the first administrator, users an administrator
adds, resets, and a user changing their own password.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from core.errors import UserError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 accepts more, but nobody types that; bounds the hashing work
POLICY_TEXT = f"at least {MIN_LENGTH} characters, not only spaces, not a common password"


class PasswordPolicyError(UserError):
    """A password that the policy refuses (the message says which rule)."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    text = files("strategy").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))


def _is_run(text: str) -> bool:
    """One character repeated, or a run of consecutive code points (``abcdef…``, ``987654…``)."""
    if len(set(text)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return len(steps) == 1 and steps <= {1, -1}


def check_password(password: str | None, username: str | None = None) -> str:
    """Return ``password`` if the policy accepts it; raise :class:`PasswordPolicyError` otherwise.

    ``username`` (when given) is refused as the password itself.
    """
    if password is None or not password.strip():
        raise PasswordPolicyError("the password is empty or only spaces; choose one of "
                                  f"{POLICY_TEXT}")
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_LENGTH} characters "
                                  f"(this one has {len(password)})")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"a password may have at most {MAX_LENGTH} characters")
    lowered = password.strip().lower()
    if _is_run(lowered) or lowered in common_passwords() or \
            " ".join(lowered.split()) in common_passwords():
        raise PasswordPolicyError("this password is on the list of common or easily guessed "
                                  "passwords; choose another")
    if username and lowered == username.strip().lower():
        raise PasswordPolicyError("the password may not be the user name")
    return password
