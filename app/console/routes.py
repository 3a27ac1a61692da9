"""Console pages (login required). Each module appends its controllers here."""

CONSOLE_HANDLERS: list = []

# Deployments, batch actions, launch from an offer, deployment templates.
from app.console.pages.batch import BatchController  # noqa: E402
from app.console.pages.deployments import DeploymentsController  # noqa: E402
from app.console.pages.launch import LaunchController  # noqa: E402
from app.console.pages.templates import TemplatesController  # noqa: E402

CONSOLE_HANDLERS += [DeploymentsController, BatchController, LaunchController, TemplatesController]

# Provider keys (/settings/providers).
from app.console.pages.bindings import ProviderKeysController  # noqa: E402

CONSOLE_HANDLERS += [ProviderKeysController]
