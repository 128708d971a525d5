"""The static memory plan: buffers live together never share a byte, dead
buffers are reused, an add overwrites an input that dies with it, scratch is
reserved per op, and the arena is what the plan needs."""

from __future__ import annotations

import numpy as np
import pytest

from edge_affect.converters.apollo3.lower import Add, Conv, Program, Tensor
from edge_affect.converters.apollo3.memory import Buffer, MemoryPlan, check_plan, plan_memory, scratch_name
from edge_affect.errors import ConversionError
from edge_affect.runtime.int8.quant_math import add_params


def tensor(name: str, h: int, c: int) -> Tensor:
    return Tensor(name, (1, h, h, c), 0.1, 0)


def conv(src: str, dst: str, c_in: int) -> Conv:
    one = np.ones(1, np.int32)
    return Conv(kind="pointwise_conv2d", layer=dst, input=src, output=dst, weights=np.ones((1, 1, 1, c_in), np.int8),
                bias=None, multiplier=one, shift=one, stride=(1, 1), padding=(0, 0, 0, 0), input_zero_point=0,
                output_zero_point=0, act_min=-128, act_max=127)


def add(a: str, b: str, dst: str) -> Add:
    return Add(layer=dst, input1=a, input2=b, output=dst, params=add_params(0.1, 0, 0.1, 0, 0.1, 0))


def random_program(seed: int, n_ops: int = 14) -> Program:
    """A chain of convs with residual adds reaching back a few ops, random sizes."""
    rng = np.random.default_rng(seed)
    tensors = {"in": tensor("in", 8, 3)}
    ops = []
    names = ["in"]
    for i in range(n_ops):
        name = f"t{i}"
        if i >= 2 and rng.random() < 0.4:
            a, b = names[-1], names[int(rng.integers(max(1, len(names) - 4), len(names) - 1))]
            if tensors[a].shape == tensors[b].shape:
                tensors[name] = Tensor(name, tensors[a].shape, 0.1, 0)
                ops.append(add(a, b, name))
                names.append(name)
                continue
        src = names[-1]
        tensors[name] = tensor(name, int(rng.integers(2, 9)), int(rng.integers(1, 17)))
        ops.append(conv(src, name, tensors[src].shape[3]))
        names.append(name)
    return Program(tensors=tensors, ops=tuple(ops), input="in", output=names[-1])


def lifetimes(program: Program) -> dict[str, tuple[int, int]]:
    spans = {}
    for i, op in enumerate(program.ops):
        spans[op.output] = (i, i)
        for name in op.inputs:
            if name in spans:
                spans[name] = (spans[name][0], i)
    return spans


@pytest.mark.parametrize("seed", range(20))
def test_live_tensors_never_overlap_and_dead_ones_are_reused(seed):
    program = random_program(seed)
    scratch = [int(s) for s in np.random.default_rng(seed).integers(0, 300, len(program.ops))]
    plan = plan_memory(program, scratch)
    spans = lifetimes(program)
    intervals = {n: (plan.offsets[n], plan.offsets[n] + program.tensors[n].size, *spans[n])
                 for n in spans if n not in (program.input, program.output)}
    intervals.update({scratch_name(i): (plan.offsets[scratch_name(i)], plan.offsets[scratch_name(i)] + s, i, i)
                      for i, s in enumerate(scratch) if s})
    shared = {(a, b) for a, b in plan.in_place.items()}
    names = sorted(intervals)
    for i, a in enumerate(names):
        lo_a, hi_a, first_a, last_a = intervals[a]
        assert lo_a % plan.alignment == 0 and hi_a <= plan.arena_bytes
        for b in names[i + 1:]:
            lo_b, hi_b, first_b, last_b = intervals[b]
            live_together = first_a <= last_b and first_b <= last_a
            if live_together and (a, b) not in shared and (b, a) not in shared:
                assert hi_a <= lo_b or hi_b <= lo_a, (a, b)
    # Reuse: the arena is at least the peak of simultaneously live storage (an in-place
    # output shares its input's), and no more than every buffer side by side.
    storage = dict(intervals)
    for out, src in plan.in_place.items():
        lo, hi, _, last = storage.pop(out)
        storage[src] = (*storage[src][:3], last)
    peak = max(sum(hi - lo for lo, hi, f, l in storage.values() if f <= i <= l) for i in range(len(program.ops)))
    assert peak <= plan.arena_bytes <= sum(hi - lo for lo, hi, _, _ in intervals.values()) + 8 * len(intervals)


def test_add_writes_over_an_input_that_dies_with_it():
    tensors = {n: tensor(n, 4, 4) for n in ("in", "a", "b", "s", "out")}
    program = Program(tensors=tensors, ops=(conv("in", "a", 4), conv("a", "b", 4), add("b", "a", "s"),
                                            conv("s", "out", 4)), input="in", output="out")
    plan = plan_memory(program, [0, 0, 0, 0])
    assert plan.in_place == {"s": "b"} and plan.offsets["s"] == plan.offsets["b"]
    assert plan.offsets["a"] != plan.offsets["b"]
    assert plan.arena_bytes == 2 * 64


def test_model_input_and_output_stay_out_of_the_arena():
    tensors = {n: tensor(n, 4, 4) for n in ("in", "a", "out")}
    program = Program(tensors=tensors, ops=(conv("in", "a", 4), add("a", "in", "out")), input="in", output="out")
    plan = plan_memory(program, [40, 0])
    assert set(plan.offsets) == {"a", scratch_name(0)} and plan.in_place == {}
    assert plan.arena_bytes == 64 + 40  # scratch of op 0 lives with its output


def test_overlap_is_detected():
    a = Buffer(("a",), 100, 0, 2, 0)
    b = Buffer(("b",), 100, 1, 3, 96)
    with pytest.raises(ConversionError, match="overlap"):
        check_plan(MemoryPlan(arena_bytes=200, alignment=8, buffers=(a, b), offsets={"a": 0, "b": 96},
                              scratch=(0,), in_place={}))
    check_plan(MemoryPlan(arena_bytes=200, alignment=8, buffers=(a, Buffer(("b",), 100, 3, 4, 96)),
                          offsets={"a": 0, "b": 96}, scratch=(0,), in_place={}))


def test_scratch_sizes_must_match_the_ops():
    program = random_program(0, n_ops=3)
    with pytest.raises(ConversionError, match="scratch sizes"):
        plan_memory(program, [0])
