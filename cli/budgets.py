"""``batchline budgets set | list | clear``: the monthly spend caps the submitter admits work against.

A cap is USD per calendar month (UTC) for one company, over all its providers or (``--provider``) for
one. The submitter's claim reads the table on every claim (``services.submitter.budget_sql``), so a
change applies at its next claim, with no restart: a raised cap lets the held requests go at the
next sweep. ``list`` shows each cap with the spend counted against it this month (the claim's rule:
processed batches at their actual usage, unfinished ones at their estimate) and the holds it causes;
``batchline stats`` shows the same per company.

Arguments are checked before anything connects; a bad one is one ``CliError`` line, exit status 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cli.common import load_settings, run_on_database
from services.submitter import budget_sql
from services.submitter.budget import Pricing, month_spend
from shared.errors import CliError
from shared.settings import Settings

budgets_app = typer.Typer(no_args_is_help=True, help="Monthly spend caps per company: set, list, clear.")

#: One row per (company, provider or none): the unique index folds NULL provider to ''.
_SET = text(
    "INSERT INTO company_budgets (company_id, provider, monthly_usd) VALUES (:c, :p, :usd) "
    "ON CONFLICT (company_id, (coalesce(provider, ''))) DO UPDATE SET monthly_usd = excluded.monthly_usd, "
    "updated_at = now()"
)
_CLEAR = text(
    "DELETE FROM company_budgets WHERE company_id = :c AND coalesce(provider, '') = coalesce(:p, '') "
    "RETURNING id"
)
#: The company's holds go with a cleared cap; a claim still limited by another cap writes them again.
_UNHOLD = text("DELETE FROM budget_holds WHERE company_id = :c")
MAX_USD = Decimal("1e15")

ProviderOpt = Annotated[
    str | None, typer.Option("--provider", help="Only this provider (default: all providers together).")
]


@dataclass(frozen=True, slots=True)
class BudgetLine:
    provider: str | None
    monthly_usd: Decimal
    spent_usd: Decimal


@dataclass(slots=True)
class CompanyBudgets:
    """A company's caps with this month's spend under each, and its holds (for ``stats`` too)."""

    lines: list[BudgetLine] = field(default_factory=list)
    held_requests: int = 0
    hold_reasons: list[str] = field(default_factory=list)


async def company_budgets(
    conn: AsyncConnection, settings: Settings, company: str | None = None
) -> dict[str, CompanyBudgets]:
    """Per company with a cap or a hold: three grouped reads (caps, charges, holds)."""
    scope = None if company is None else [company]
    caps = await budget_sql.read_budgets(conn, scope)
    holds = await budget_sql.read_holds(conn, scope)
    charges = await budget_sql.read_charges(conn, sorted(caps)) if caps else {}
    pricing = Pricing.of(settings)
    out: dict[str, CompanyBudgets] = {}
    for company_id, rows in caps.items():
        spent = charges.get(company_id, [])
        entry = out.setdefault(company_id, CompanyBudgets())
        for row in rows:
            entry.lines.append(
                BudgetLine(row.provider, row.monthly_usd, month_spend(spent, pricing, row.provider))
            )
    for company_id, _model, reason, held in holds:
        entry = out.setdefault(company_id, CompanyBudgets())
        entry.held_requests += held
        if reason not in entry.hold_reasons:
            entry.hold_reasons.append(reason)
    return dict(sorted(out.items()))


def usd_text(amount: Decimal) -> str:
    from cli.stats import usd

    return usd(amount)


def budgets_document(budgets: CompanyBudgets) -> dict[str, Any]:
    return {
        "budgets": [
            {
                "provider": b.provider,
                "monthly_usd": usd_text(b.monthly_usd),
                "spent_usd": usd_text(b.spent_usd),
            }
            for b in budgets.lines
        ],
        "held_requests": budgets.held_requests,
        "hold_reasons": list(budgets.hold_reasons),
    }


def budget_table(rows: dict[str, CompanyBudgets]) -> Table:
    table = Table(title="Budgets per company (this month, UTC)")
    for column in ("company", "provider", "monthly $", "spent $", "held"):
        table.add_column(
            column, justify="left" if column in ("company", "provider") else "right", no_wrap=True
        )
    table.add_column("reason", overflow="fold")
    for company_id, entry in rows.items():
        held, reasons = str(entry.held_requests), "; ".join(entry.hold_reasons) or "-"
        for i, line in enumerate(entry.lines or [None]):
            cells = ("-", "-", "-") if line is None else (
                line.provider or "all", f"{line.monthly_usd:.4f}", f"{line.spent_usd:.4f}")  # fmt: skip
            table.add_row(company_id, *cells, held if i == 0 else "", reasons if i == 0 else "")
    return table


def parse_usd(value: str) -> Decimal:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise CliError(f"not an amount in USD: {value!r}") from None
    if not amount.is_finite():
        raise CliError(f"not an amount in USD: {value!r}")
    if amount < 0:
        raise CliError(f"a budget cannot be negative: {value}")
    if amount >= MAX_USD:
        raise CliError(f"a budget must be below {MAX_USD:,.0f} USD: {value}")
    return amount


def _check_names(company: str, provider: str | None) -> None:
    if not company.strip() or len(company) > 200:
        raise CliError("COMPANY must be 1 to 200 characters")
    if provider is not None and (not provider.strip() or len(provider) > 32):
        raise CliError("--provider must be 1 to 32 characters")


#: ``-1`` reads as an option to click; taken as the amount, it gets the error an operator can act on.
@budgets_app.command("set", context_settings={"ignore_unknown_options": True})
def set_budget(
    company: Annotated[str, typer.Argument(help="The company id, as its events carry it.")],
    usd: Annotated[str, typer.Argument(help="USD per calendar month (UTC), a decimal >= 0.")],
    provider: ProviderOpt = None,
) -> None:
    """Set (or change) a company's monthly budget; the submitter applies it at its next claim."""
    _check_names(company, provider)
    amount = parse_usd(usd)

    async def work(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.execute(_SET, {"c": company, "p": provider, "usd": amount})

    run_on_database(load_settings(), work)
    typer.echo(f"budget of {company} for {provider or 'all providers'}: {amount} USD per month")


@budgets_app.command("clear")
def clear_budget(
    company: Annotated[str, typer.Argument(help="The company id.")], provider: ProviderOpt = None
) -> None:
    """Remove one budget of a company (all providers, or ``--provider``'s); its holds go with it."""
    _check_names(company, provider)

    async def work(engine: AsyncEngine) -> bool:
        async with engine.begin() as conn:
            gone = (await conn.execute(_CLEAR, {"c": company, "p": provider})).first() is not None
            if gone:
                await conn.execute(_UNHOLD, {"c": company})
            return gone

    scope = provider or "all providers"
    if run_on_database(load_settings(), work):
        typer.echo(f"budget of {company} for {scope} cleared")
    else:
        typer.echo(f"no budget of {company} for {scope}; nothing cleared")


@budgets_app.command("list")
def list_budgets(
    company: Annotated[str | None, typer.Option("--company", help="Only this company.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of a table.")
    ] = False,
) -> None:
    """Every budget with this month's spend under it, and the requests it holds back."""
    settings = load_settings()

    async def work(engine: AsyncEngine) -> tuple[str, dict[str, CompanyBudgets]]:
        async with engine.connect() as conn:
            return await budget_sql.month(conn), await company_budgets(conn, settings, company)

    month, rows = run_on_database(settings, work)
    if as_json:
        doc = {"month": month, "companies": {c: budgets_document(b) for c, b in rows.items()}}
        typer.echo(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode())
    elif not rows:
        typer.echo("no budgets")
    else:
        from cli.report_view import make_console

        make_console().print(budget_table(rows))
