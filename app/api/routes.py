"""JSON API under /api/v1: every controller the app mounts."""

from litestar import Router

from app.api.gpus import GpusController
from app.api.history import HistoryController
from app.api.prices import PricesController
from app.api.sources import SourcesController
from app.console.api.alerts import ConsoleAlertsApiController
from app.console.api.budgets import ConsoleBudgetsApiController
from app.console.api.batch import ConsoleBatchApiController
from app.console.api.costs import ConsoleCostsApiController
from app.console.api.organization import ConsoleOrganizationApiController
from app.console.api.routes import ConsoleApiController, ConsoleProjectsApiController
from app.console.api.migrations import MigrationsApiController
from app.console.api.templates import ConsoleTemplatesApiController
from app.pools.api import PoolsApiController

# The public OpenAPI document is this API and nothing else: the app leaves every other route (pages,
# forms, webhooks, /metrics) out of it by default, and this router opts its handlers back in.
API_ROUTER = Router(path="/", route_handlers=[PricesController, GpusController, HistoryController, SourcesController,
                                               ConsoleApiController, ConsoleTemplatesApiController,
                                               ConsoleBatchApiController, ConsoleCostsApiController,
                                               ConsoleAlertsApiController, MigrationsApiController,
                                               ConsoleOrganizationApiController, ConsoleBudgetsApiController,
                                               ConsoleProjectsApiController, PoolsApiController],
                    include_in_schema=True)
