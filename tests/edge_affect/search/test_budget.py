import pytest

from edge_affect.errors import InputError
from edge_affect.search.budget import describe_limit, parse_budget, parse_budgets


@pytest.mark.parametrize("text, kind, limit", [
    ("apollo3:100ms", "apollo3", 100.0), ("apollo3:2.9s", "apollo3", 2900.0), ("flash:128KB", "flash", 131072),
    ("ram:64KiB", "ram", 65536), ("flash:1MB", "flash", 1048576), ("ram:2048B", "ram", 2048),
    ("macs:1.38M", "macs", 1.38e6), ("macs:500000", "macs", 500000), ("FLASH:128kb", "flash", 131072),
])
def test_budgets_parse_to_canonical_units(text, kind, limit):
    budget = parse_budget(text)
    assert (budget.kind, budget.limit) == (kind, pytest.approx(limit))


def test_a_budget_compares_with_a_cost_record():
    budget = parse_budget("apollo3:100ms")
    assert budget.met_by({"latency_ms_48mhz": 99.9}) and not budget.met_by({"latency_ms_48mhz": 100.1})
    assert parse_budget("flash:128KB").excess({"flash_bytes": 262144}) == 2.0
    assert describe_limit(parse_budget("ram:64KB")) == "64.0 KB"


@pytest.mark.parametrize("text, fragment", [
    ("apollo3", "KIND:VALUE"), ("speed:1ms", "KIND one of"), ("apollo3:100", "unit"), ("flash:12parsecs", "unit"),
    ("ram:-1KB", "unit"), ("ram:0KB", "positive"), ("apollo3:1e999ms", "positive"),
])
def test_bad_budgets_say_what_is_expected(text, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_budget(text)


def test_budget_lists_need_one_and_no_repeats():
    with pytest.raises(InputError, match="at least one"):
        parse_budgets([])
    with pytest.raises(InputError, match="more than once"):
        parse_budgets(["ram:1KB", "ram:2KB"])
