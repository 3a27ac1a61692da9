from tests.auth.support import app, browser, fast_password_hashing, new_browser, settings  # noqa: F401  (fixtures)
