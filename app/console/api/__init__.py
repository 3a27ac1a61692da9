"""The console API (``/api/v1/console``): the console's deployments and keys for scripts, with API tokens."""
