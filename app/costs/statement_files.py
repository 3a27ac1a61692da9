"""A statement as a download: CSV (one row per deployment, exact amounts, so a spreadsheet's sum is
the statement's total) and PDF (weasyprint, from the same HTML template family as the page)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from app.costs.statements import Statement
from dashboards.cost_csv import spreadsheet_text

CSV_COLUMNS = ["month", "deployment", "provider_and_gpu", "hours", "amount_usd"]
ORG_CSV_COLUMNS = ["month", "deployment", "project", "member", "provider_and_gpu", "hours", "amount_usd"]
"""An organization's (and a project's) statement: each deployment's project and who launched it."""


class NothingFetched(ValueError):
    """The PDF renderer asked for a URL: statements are self-contained, nothing is fetched."""


def statement_csv(statement: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ORG_CSV_COLUMNS if statement.is_org else CSV_COLUMNS)
    for line in statement.deployments:
        who = [spreadsheet_text(line.project), spreadsheet_text(line.member)] if statement.is_org else []
        writer.writerow([statement.month.key, spreadsheet_text(line.label), *who, line.detail, f"{line.hours:.4f}",
                         f"{line.amount.quantize(Decimal('0.000001'))}"])
    return out.getvalue()


def _refuse(url: str, *args, **kwargs):
    # A name or image in the document can never make the server fetch anything (no network, no SSRF).
    raise NothingFetched(f"statements fetch nothing ({url[:60]})")


def statement_pdf(html: str) -> bytes:
    """CPU-bound (tens of milliseconds per page): call it in a worker thread."""
    from weasyprint import HTML  # imported on first use: it costs ~1.5 s and only this needs it

    return HTML(string=html, base_url=None, url_fetcher=_refuse).write_pdf()
