"""Public HTML pages (no login): the handlers live in app.web.pages, one module per page group."""

from app.web.pages.compare import compare
from app.web.pages.dashboard import dashboard
from app.web.pages.gpus import gpu_index, gpu_page
from app.web.pages.seo import robots_txt, sitemap_xml
from app.web.pages.sources import sources_page

PAGE_HANDLERS: list = [dashboard, compare, gpu_index, gpu_page, sources_page, robots_txt, sitemap_xml]
