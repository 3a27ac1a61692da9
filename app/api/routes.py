"""JSON API under /api/v1: every controller the app mounts."""

from app.api.gpus import GpusController
from app.api.history import HistoryController
from app.api.prices import PricesController
from app.api.sources import SourcesController

API_HANDLERS: list = [PricesController, GpusController, HistoryController, SourcesController]
