import json

import pytest
import torch

from edge_affect.errors import ModelNotFoundError, SpecError
from edge_affect.models import create_model, get_entry, get_spec, list_models
from edge_affect.models.checkpoint import save_checkpoint
from edge_affect.models.user_models import CARD, save_user_model, user_entries

ARCH = "c8s2p2-c16bp2-g-f16"


@pytest.fixture
def user_root(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_AFFECT_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


def _checkpoint(tmp_path, arch=ARCH):
    torch.manual_seed(3)
    model = create_model("smile_net", pretrained=False, arch=arch)
    path = save_checkpoint(model.state_dict(), tmp_path / "w.safetensors", {"model": "smile_net"})
    return model, path


def test_a_saved_user_model_works_like_a_builtin(user_root, tmp_path):
    model, weights = _checkpoint(tmp_path)
    save_user_model("my_smile", "smile_net", {"arch": ARCH}, get_spec("smile_net"), weights,
                    "test model", {"why": "test"})
    assert "my_smile" in list_models() and "my_smile" in list_models(task="smile")
    assert "my_smile" not in list_models(include_user=False)
    entry = get_entry("my_smile")
    assert (entry.base_model, entry.kwargs, entry.pretrained) == ("smile_net", {"arch": ARCH}, True)
    loaded = create_model("my_smile")
    x = torch.rand(2, 1, 64, 64)
    assert torch.equal(loaded(x), model.eval()(x))


def test_saving_again_replaces_the_model_atomically(user_root, tmp_path):
    _, weights = _checkpoint(tmp_path)
    save_user_model("my_smile", "smile_net", {"arch": ARCH}, get_spec("smile_net"), weights, "v1", {})
    save_user_model("my_smile", "smile_net", {"arch": ARCH}, get_spec("smile_net"), weights, "v2", {})
    assert get_entry("my_smile").description == "v2"
    assert sorted(p.name for p in user_root.iterdir()) == ["my_smile"]  # no temporary directory left


@pytest.mark.parametrize("name, base, kwargs, fragment", [
    ("smile_tiny", "smile_net", {"arch": ARCH}, "built-in model"),
    ("Bad-Name", "smile_net", {"arch": ARCH}, "lower-case"),
    ("mine", "no_such_model", {}, "not a built-in model"),
    ("mine", "smile_net", {"arch": "x1"}, "block 1"),
])
def test_bad_registrations_are_refused_before_anything_is_written(user_root, tmp_path, name, base, kwargs, fragment):
    _, weights = _checkpoint(tmp_path)
    with pytest.raises((SpecError, ModelNotFoundError, ValueError), match=fragment):
        save_user_model(name, base, kwargs, get_spec("smile_net"), weights, "", {})
    assert not user_root.exists() or not any(user_root.iterdir())


def test_a_damaged_card_is_an_error_naming_the_file(user_root, tmp_path):
    _, weights = _checkpoint(tmp_path)
    target = save_user_model("my_smile", "smile_net", {"arch": ARCH}, get_spec("smile_net"), weights, "", {})
    card = json.loads((target / CARD).read_text())
    card["weights"] = "../../elsewhere.safetensors"
    (target / CARD).write_text(json.dumps(card))
    with pytest.raises(SpecError, match=f"{CARD}.*beside the card"):
        user_entries()
    (target / CARD).write_text("{not json")
    with pytest.raises(SpecError, match="unreadable model card"):
        get_entry("my_smile")


def test_unknown_names_still_list_the_known_ones(user_root):
    with pytest.raises(ModelNotFoundError, match="smile_tiny"):
        get_entry("nope")
