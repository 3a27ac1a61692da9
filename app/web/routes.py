"""Public HTML pages (filled in by the pages module)."""

PAGE_HANDLERS: list = []
