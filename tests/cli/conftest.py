"""The CLI tests sign people up: with the cheap argon2 costs every other test directory uses."""

from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
