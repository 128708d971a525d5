import pytest
import torch

from edge_affect.errors import ModelNotFoundError, WeightsError
from edge_affect.models import count_macs, count_params, create_model, get_entry, list_models, register_model
from edge_affect.models.checkpoint import save_checkpoint


@pytest.mark.parametrize("name", list_models())
def test_every_model_builds_and_matches_its_spec(name):
    entry = get_entry(name)
    model = create_model(name, pretrained=False, **entry.ci_kwargs)  # reduced instance of the same layout
    x = torch.zeros(entry.spec.input.shape)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (1, len(entry.spec.output.labels))
    assert count_params(model) > 0 and count_macs(model, entry.spec.input.shape) > 0


@pytest.mark.parametrize("name", [n for n in list_models() if get_entry(n).pretrained])
def test_pretrained_weights_load(name):
    a = create_model(name, pretrained=True)
    b = create_model(name, pretrained=False)
    assert any(not torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ModelNotFoundError, match="mini_xception_fer2013"):
        create_model("no_such_model")


def test_duplicate_registration_is_refused():
    entry = get_entry("mini_xception_fer2013")
    with pytest.raises(ValueError, match="already registered"):
        register_model("mini_xception_fer2013", task=entry.task, spec=entry.spec)(lambda: None)


def test_weights_that_do_not_fit_are_a_weights_error(tmp_path):
    path = save_checkpoint({"nonsense.weight": torch.zeros(3)}, tmp_path / "w.safetensors", {})
    with pytest.raises(WeightsError, match="does not fit"):
        create_model("mini_xception_fer2013", weights_path=path)


def test_missing_and_corrupt_weights(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        create_model("mini_xception_fer2013", weights_path=tmp_path / "none.safetensors")
    model = create_model("mini_xception_fer2013", pretrained=False)
    path = save_checkpoint(model.state_dict(), tmp_path / "w.safetensors", {})
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        create_model("mini_xception_fer2013", weights_path=path)
    path.with_suffix(".json").unlink()
    path.write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="corrupt"):
        create_model("mini_xception_fer2013", weights_path=path)
    pickled = tmp_path / "w.pt"
    torch.save(model.state_dict(), pickled)
    with pytest.raises(WeightsError, match="pickled checkpoints are not loaded"):
        create_model("mini_xception_fer2013", weights_path=pickled)
