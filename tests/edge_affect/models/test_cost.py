import pytest

from edge_affect.errors import ModelNotFoundError
from edge_affect.models import count_macs, count_params, create_model, get_entry, list_models
from edge_affect.models.cost import meta_model, model_cost

# Full-size instances that take seconds to initialise and run for real.
LARGE = {"ocular_va_m1", "ocular_va_m2", "face_va_resnet"}


def _real_cost(name: str, **kwargs) -> tuple[int, int]:
    model = create_model(name, pretrained=False, **kwargs)
    return count_params(model), count_macs(model, get_entry(name).spec.input.shape)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in LARGE else n
                                  for n in list_models()])
def test_meta_counts_equal_a_real_instance(name):
    cost = model_cost(name)
    assert (cost.params, cost.macs) == _real_cost(name)


# Reduced instances: every entry's CI size, and the ResNet152 layout (bottleneck blocks) thinned.
REDUCED = [(n, get_entry(n).ci_kwargs) for n in list_models() if get_entry(n).ci_kwargs] + [
    ("face_va_resnet", {"layout": "resnet152", "width_mult": 0.25})]


@pytest.mark.parametrize("name, kwargs", REDUCED, ids=[f"{n}-{'-'.join(map(str, k.values()))}" for n, k in REDUCED])
def test_meta_counts_follow_the_model_kwargs(name, kwargs):
    reduced = model_cost(name, **kwargs)
    assert (reduced.params, reduced.macs) == _real_cost(name, **kwargs)


@pytest.mark.parametrize("name", list_models())
def test_no_weights_are_allocated(name):
    model = meta_model(name)
    tensors = [*model.parameters(), *model.buffers()]
    assert tensors and all(t.is_meta for t in tensors), "a tensor was materialised outside the meta device"


def test_unknown_model_is_named():
    with pytest.raises(ModelNotFoundError, match="no_such_model"):
        model_cost("no_such_model")
