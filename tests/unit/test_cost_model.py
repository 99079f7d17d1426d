"""The cost model in docs/operations.md is infra/cost.py's, over the template's own defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib import limits
from chalicelib.settings_catalog import SETTINGS
from infra import cost
from infra.template import API, functions, merge_template

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_the_documented_tables_are_what_the_model_renders() -> None:
    text = DOCS.read_text(encoding="utf-8")
    begin, end = "<!-- cost-model:begin -->\n", "\n<!-- cost-model:end -->"
    documented = text[text.index(begin) + len(begin) : text.index(end)]
    assert documented == cost.render(), "run python -m infra.cost --write"


def test_the_model_prices_what_the_template_deploys() -> None:
    params = merge_template()["Parameters"]
    defaults = cost.Defaults()
    assert float(params["DatabaseMinCapacity"]["Default"]) == defaults.min_acu
    declared = functions()
    assert declared[API].memory == defaults.api_memory_gb * 1024
    assert declared["DispatchFunction"].memory == defaults.dispatch_memory_gb * 1024
    scheduled = [f for f in declared.values() if "Tick" in f.events]
    assert len(scheduled) == defaults.scheduled_functions
    assert all(f.memory == defaults.scheduled_memory_gb * 1024 for f in scheduled)
    assert limits.SCHEDULE == "rate(1 minute)", "the model counts a run a minute"
    connections = next(s.default for s in SETTINGS if s.env == "MAILPROXY_SMTP_CONNECTIONS")
    assert connections == defaults.connections_per_account


def test_more_tenants_cost_nothing_unless_they_are_dedicated() -> None:
    few = sum(cost.monthly(cost.Workload(tenants=1000)).values())
    many = sum(cost.monthly(cost.Workload(tenants=10_000)).values())
    dedicated = sum(cost.monthly(cost.Workload(tenants=10_000, dedicated=100)).values())
    assert few == many and dedicated == pytest.approx(many + 100 * cost.TENANT_QUEUE_MONTH)
