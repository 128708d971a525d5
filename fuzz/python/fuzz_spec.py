"""atheris target: PipelineSpec.from_json, the parser of every manifest's spec.

Even first bytes: the input (after that byte) is the JSON text itself.
Odd first bytes: structural edits (_harness.mutate_json) of a registered
model's spec. Either way the result is a valid spec or a SpecError.
"""

from __future__ import annotations

import json

from _harness import main, mutate_json


def _base_specs() -> list[dict]:
    from edge_affect.models import get_entry, list_models

    specs = [get_entry(name).spec.to_dict() for name in list_models()]
    quantized = json.loads(json.dumps(specs[0]))
    quantized["input"]["quant"] = {"scale": 0.0078125, "zero_point": -1}
    clamped = json.loads(json.dumps(specs[0]))
    clamped["output"].update(kind="regression", post="clamp", clamp_range=[-1.0, 1.0], labels=["v", "a"])
    return specs + [quantized, clamped]


BASES: list[dict] = []


def check(data: bytes) -> None:
    from edge_affect.spec import PipelineSpec

    if not data:
        return
    if data[0] % 2 == 0:
        text = data[1:].decode("utf-8", "replace")
    else:
        if not BASES:
            BASES.extend(_base_specs())
        base = BASES[data[1] % len(BASES)] if len(data) > 1 else BASES[0]
        text = json.dumps(mutate_json(base, data[2:]))
    spec = PipelineSpec.from_json(text)
    # A spec that validates must survive its own round trip.
    assert PipelineSpec.from_json(spec.to_json()) == spec


def seeds():
    for i, spec in enumerate(_base_specs()):
        yield b"\0" + json.dumps(spec).encode()
        yield bytes([1, i, 7, 3, 5, 9])


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.spec", "edge_affect.models"])
