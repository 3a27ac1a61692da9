"""The SLA tests reuse the auto-repair fixtures (console fixtures, a pro account, the sandbox cloud)."""

from tests.repair.conftest import (  # noqa: F401 - reused as they are
    app, as_pro, basic, clock, cloud, fast_password_hashing, http, keyring, make_account, pro, settings,
)
