"""Budgets a searched model must meet: `apollo3:100ms`, `flash:128KB`, `ram:64KB`, `macs:1.38M`.

Byte units are binary (KB = KiB = 1024 bytes), as in the Apollo3's "1 MB flash,
384 KB SRAM". Latency is the Apollo3 cost model's estimate at 48 MHz
(instructions x CPI 1.0 / clock; see converters/apollo3/bench.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from edge_affect.errors import InputError

# kind -> (figure in a cost record, unit of that figure, accepted units -> factor)
_KINDS: dict[str, tuple[str, str, dict[str, float]]] = {
    "apollo3": ("latency_ms_48mhz", "ms", {"ms": 1.0, "s": 1000.0}),
    "flash": ("flash_bytes", "B", {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024 ** 2, "mib": 1024 ** 2}),
    "ram": ("ram_bytes", "B", {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024 ** 2, "mib": 1024 ** 2}),
    "macs": ("macs", "MACs", {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}),
}
_VALUE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    kind: str
    limit: float  # in the figure's unit: ms, bytes or MACs
    text: str

    @property
    def figure(self) -> str:
        return _KINDS[self.kind][0]

    @property
    def unit(self) -> str:
        return _KINDS[self.kind][1]

    def value_of(self, cost: dict[str, Any]) -> float:
        return float(cost[self.figure])

    def met_by(self, cost: dict[str, Any]) -> bool:
        return self.value_of(cost) <= self.limit

    def excess(self, cost: dict[str, Any]) -> float:
        """How many times over budget (<= 1 when met)."""
        return self.value_of(cost) / self.limit


def parse_budget(text: str) -> Budget:
    kind, sep, value = str(text).partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in _KINDS:
        raise InputError(f"--budget {text!r}: expected KIND:VALUE with KIND one of {sorted(_KINDS)} "
                         f"(e.g. apollo3:100ms, flash:128KB, ram:64KB, macs:1.38M)")
    figure, unit, units = _KINDS[kind]
    match = _VALUE.fullmatch(value)
    factor = units.get(match.group(2).lower()) if match else None
    if match is None or factor is None:
        raise InputError(f"--budget {text!r}: expected a number with a unit in {sorted(u for u in units if u)}"
                         + (" (or none)" if "" in units else ""))
    limit = float(match.group(1)) * factor
    if not 0 < limit < float("inf"):
        raise InputError(f"--budget {text!r}: the limit must be positive")
    return Budget(kind, limit, f"{kind}:{value.strip()}")


def parse_budgets(texts: list[str]) -> list[Budget]:
    budgets = [parse_budget(t) for t in texts]
    kinds = [b.kind for b in budgets]
    duplicated = sorted({k for k in kinds if kinds.count(k) > 1})
    if duplicated:
        raise InputError(f"--budget: {duplicated} given more than once")
    if not budgets:
        raise InputError("search: give at least one --budget (e.g. apollo3:100ms)")
    return budgets


def describe_limit(budget: Budget) -> str:
    if budget.unit == "B":
        return f"{budget.limit / 1024:.1f} KB"
    if budget.unit == "MACs":
        return f"{budget.limit / 1e6:.2f} M MACs"
    return f"{budget.limit:g} ms"
