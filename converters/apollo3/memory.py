"""Static memory plan: every intermediate tensor and kernel scratch buffer of
a program at a fixed offset in one caller-provided arena.

Lifetimes are op-index intervals over the program order: a tensor lives from
the op that writes it to the last op that reads it, a scratch buffer only
during its op. Buffers whose lifetimes overlap never share bytes; the others
may. Offsets are assigned greedily, largest buffer first, each at the lowest
aligned offset that clears every already-placed buffer it is live with (the
strategy of TFLite Micro's greedy planner). An elementwise op (add) writes
its result over an input that dies at that op.

The model input and output live in caller buffers, not in the arena.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from edge_affect.converters.apollo3.lower import Add, Program
from edge_affect.errors import ConversionError

ALIGNMENT = 8  # >= the 4 bytes kernel scratch needs; 8 keeps room for LDRD / int64 scratch


@dataclass(frozen=True)
class Buffer:
    """One region of the arena and the tensors / scratch that use it."""

    names: tuple[str, ...]
    size: int
    first: int  # first op index that writes it
    last: int  # last op index that reads it
    offset: int

    def live_with(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps(self, other: "Buffer") -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    alignment: int
    buffers: tuple[Buffer, ...]
    offsets: dict[str, int]  # tensor name or scratch_name(i) -> arena offset
    scratch: tuple[int, ...]  # bytes of scratch reserved for each op
    in_place: dict[str, str]  # output tensor -> the input tensor whose bytes it overwrites

    @property
    def tensor_bytes(self) -> int:
        """What the tensors alone would need without any reuse (for reporting)."""
        return sum(b.size for b in self.buffers)


def scratch_name(op_index: int) -> str:
    return f"scratch[{op_index}]"


def plan_memory(program: Program, scratch: Sequence[int], alignment: int = ALIGNMENT) -> MemoryPlan:
    """`scratch[i]`: bytes of scratch op i needs (the most any kernel set asks for,
    see scratch.query_scratch_sizes)."""
    if alignment < 4 or alignment & (alignment - 1):
        raise ConversionError(f"apollo3: arena alignment must be a power of two >= 4, got {alignment}")
    scratch = tuple(int(s) for s in scratch)
    if len(scratch) != len(program.ops) or min(scratch, default=0) < 0:
        raise ConversionError(f"apollo3: expected {len(program.ops)} scratch sizes >= 0, got {len(scratch)}")
    external = {program.input, program.output}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, op in enumerate(program.ops):
        for name in op.inputs:
            last[name] = i
        first[op.output] = i
        last.setdefault(op.output, i)
        last[op.output] = max(last[op.output], i)

    # Storage groups: a tensor written in place joins its input's group.
    group_of: dict[str, str] = {}
    in_place: dict[str, str] = {}
    for i, op in enumerate(program.ops):
        if op.output in external:
            continue
        group_of.setdefault(op.output, op.output)
        if isinstance(op, Add):
            for name in op.inputs:
                if (name not in external and last[name] == i
                        and program.tensors[name].size == program.tensors[op.output].size):
                    group_of[op.output] = group_of[name]
                    in_place[op.output] = name
                    break

    members: dict[str, list[str]] = {}
    for name, root in group_of.items():
        members.setdefault(root, []).append(name)
    pending = [(tuple(names), max(program.tensors[n].size for n in names),
                min(first[n] for n in names), max(last[n] for n in names)) for names in members.values()]
    pending += [((scratch_name(i),), size, i, i) for i, size in enumerate(scratch) if size > 0]

    placed: list[Buffer] = []
    # Largest first; ties by first use, then name, so the plan is deterministic.
    for names, size, lo, hi in sorted(pending, key=lambda p: (-p[1], p[2], p[0])):
        candidate = Buffer(names, size, lo, hi, 0)
        offset = 0
        for other in sorted((b for b in placed if b.live_with(candidate)), key=lambda b: b.offset):
            if offset + size <= other.offset:
                break
            offset = max(offset, _align(other.offset + other.size, alignment))
        placed.append(Buffer(names, size, lo, hi, offset))

    arena = _align(max((b.offset + b.size for b in placed), default=0), alignment)
    plan = MemoryPlan(arena_bytes=arena, alignment=alignment, buffers=tuple(sorted(placed, key=lambda b: b.offset)),
                      offsets={n: b.offset for b in placed for n in b.names}, scratch=scratch, in_place=in_place)
    check_plan(plan)
    return plan


def check_plan(plan: MemoryPlan) -> None:
    """Raise if two buffers that are live at the same time share a byte, or one leaves the arena."""
    buffers = plan.buffers
    for i, a in enumerate(buffers):
        if a.offset % plan.alignment or a.offset < 0 or a.offset + a.size > plan.arena_bytes:
            raise ConversionError(f"apollo3 memory plan: {a.names} at {a.offset}+{a.size} is misaligned or "
                                  f"outside the {plan.arena_bytes}-byte arena")
        for b in buffers[i + 1:]:
            if a.live_with(b) and a.overlaps(b):
                raise ConversionError(f"apollo3 memory plan: {a.names} and {b.names} are live together "
                                      f"(ops {a.first}-{a.last} and {b.first}-{b.last}) but overlap")


def _align(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment
