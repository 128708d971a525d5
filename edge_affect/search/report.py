"""What a search leaves for people: a table (Markdown, CSV) and a Pareto plot
of selection AUC against Apollo3 latency, the budget drawn in."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from edge_affect.fileio import write_bytes_atomic, write_text_atomic
from edge_affect.search.budget import Budget
from edge_affect.search.engine import SearchState, meets

COLUMNS = ("role", "arch", "macs", "params", "latency_ms_48mhz", "flash_kb", "ram_kb", "fits", "val_auc",
           "seed_bar_met", "test_auc")


def rows(state: SearchState, budgets: list[Budget], baseline: str, bar: float | None) -> list[dict[str, Any]]:
    """One row per trained architecture: the baseline, then candidates by latency."""
    archs = ([baseline] if baseline in state.trained else []) + sorted(
        (a for a in state.candidates if a in state.trained and a != baseline),
        key=lambda a: state.priced[a].get("latency_ms_48mhz", 0.0))
    pareto = pareto_front(state, [a for a in archs if a != baseline])
    out = []
    for arch in archs:
        cost, score = state.priced[arch], state.trained[arch]
        role = "baseline" if arch == baseline else "chosen" if arch == state.chosen else \
            "pareto" if arch in pareto else "candidate"
        val = score.get("val_auc")
        out.append({
            "role": role, "arch": arch, "macs": cost.get("macs"), "params": cost.get("params"),
            "latency_ms_48mhz": cost.get("latency_ms_48mhz"),
            "flash_kb": round(cost["flash_bytes"] / 1024, 1) if "flash_bytes" in cost else None,
            "ram_kb": round(cost["ram_bytes"] / 1024, 1) if "ram_bytes" in cost else None,
            "fits": meets(cost, budgets), "val_auc": val,
            "seed_bar_met": None if bar is None or val is None else val >= bar,
            "test_auc": state.test["auc"] if state.test and arch == state.chosen else None,
        })
    return out


def pareto_front(state: SearchState, archs: list[str]) -> set[str]:
    """Architectures no other one beats on both latency (lower) and selection AUC (higher)."""
    points = [(state.priced[a].get("latency_ms_48mhz", float("inf")), state.trained[a].get("val_auc") or 0.0, a)
              for a in archs]
    front, best = set(), -1.0
    for latency, score, arch in sorted(points, key=lambda p: (p[0], -p[1])):
        if score > best:
            front.add(arch)
            best = score
    return front


def markdown_table(table: list[dict[str, Any]]) -> str:
    header = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    return header + "".join("| " + " | ".join(_cell(r[c], c) for c in COLUMNS) + " |\n" for r in table)


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"`{value}`" if column == "arch" else str(value)


def write_tables(out: Path, table: list[dict[str, Any]]) -> tuple[Path, Path]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    csv_path, md_path = out / "table.csv", out / "table.md"
    write_text_atomic(csv_path, buffer.getvalue())
    write_text_atomic(md_path, markdown_table(table))
    return csv_path, md_path


def plot_pareto(out: Path, table: list[dict[str, Any]], budgets: list[Budget], bar: float | None,
                title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    styles = {"baseline": ("s", "tab:gray"), "candidate": ("o", "tab:blue"), "pareto": ("o", "tab:orange"),
              "chosen": ("*", "tab:red")}
    for role, (marker, color) in styles.items():
        pts = [r for r in table if r["role"] == role and r["val_auc"] is not None and r["latency_ms_48mhz"]]
        if pts:
            ax.scatter([r["latency_ms_48mhz"] for r in pts], [r["val_auc"] for r in pts], marker=marker,
                       color=color, s=160 if role == "chosen" else 40, label=role, zorder=3)
    front = sorted((r for r in table if r["role"] in ("pareto", "chosen") and r["val_auc"] is not None),
                   key=lambda r: r["latency_ms_48mhz"])
    if front:
        ax.step([r["latency_ms_48mhz"] for r in front], [r["val_auc"] for r in front], where="post",
                color="tab:orange", alpha=0.6, zorder=2)
    for budget in budgets:
        if budget.kind == "apollo3":
            ax.axvline(budget.limit, color="tab:red", linestyle="--", label=f"budget {budget.text}")
    if bar is not None:
        ax.axhline(bar, color="tab:green", linestyle=":", label=f"seed's bar (AUC {bar:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("Apollo3 latency at 48 MHz, cost model (ms, log)")
    ax.set_ylabel("selection-split AUC")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    path = out / "pareto.png"
    write_bytes_atomic(path, buffer.getvalue())
    return path
