import pytest

from edge_affect.models import count_macs, count_params, create_model
from edge_affect.models.smile_net import SEED_BASELINE_ARCH, parse_arch
from edge_affect.search.space import footprint, reductions


@pytest.mark.parametrize("arch", [SEED_BASELINE_ARCH, "c8s2p2-c16dbp2-c32bp2-g-f32", "c8s2p2-c16bp2-c32bp2",
                                  "c6k5s2bp3/2-c12dp2-f10"])
def test_footprint_equals_the_built_models_counts(arch):
    model = create_model("smile_net", arch=arch)
    shape = footprint(arch)
    assert shape.macs == count_macs(model, (1, 1, 64, 64))
    # BatchNorm folds into the conv: its 4 tensors become the conv's bias
    bn = sum(m.num_features for m in model.modules() if m.__class__.__name__ == "BatchNorm2d")
    assert shape.params == count_params(model) - 2 * bn + sum(
        m.out_channels for m in model.modules()
        if m.__class__.__name__ == "Conv2d" and m.bias is None and _followed_by_bn(model, m))


def _followed_by_bn(model, conv):
    layers = list(model.features)
    i = layers.index(conv)
    return i + 1 < len(layers) and layers[i + 1].__class__.__name__ == "BatchNorm2d"


def test_every_reduction_is_one_seed_move_and_never_grows_the_model():
    base = footprint(SEED_BASELINE_ARCH)
    children = reductions(SEED_BASELINE_ARCH)
    moves = {r.move.split(" in ")[0].split(" block")[0] for r in children}
    assert {"fewer filters", "smaller kernel", "drop", "smaller FC", "no hidden FC", "depthwise-separable",
            "global average pool before the FC"} <= moves
    for child in children:
        parse_arch(child.arch)  # valid
        assert child.arch != SEED_BASELINE_ARCH
        assert footprint(child.arch).params <= base.params and footprint(child.arch).macs <= base.macs


def test_reductions_are_deduplicated_and_deterministic():
    first = reductions("c8-c8-c8")
    assert first == reductions("c8-c8-c8")
    archs = [r.arch for r in first]
    assert len(archs) == len(set(archs))
    assert archs.count("c8-c8") == 1  # dropping any of three equal blocks is one child


def test_reductions_never_collapse_the_image():
    for child in reductions("c8s2p2-c8s2p2-c8s2p2"):
        parse_arch(child.arch).feature_shape(1, 64)


def test_a_minimal_arch_has_few_reductions_left():
    assert [r.move for r in reductions("c2k1")] == ["larger stride in block 1", "global average pool before the FC"]


def test_dropping_a_downsampling_block_that_would_grow_the_model_is_not_a_reduction():
    archs = [r.arch for r in reductions(SEED_BASELINE_ARCH)]
    assert "c256k5bp3/2-c384-c384-c256p3/2-f4096" not in archs  # without conv 11/4, 52x more MACs


def test_dropping_the_first_block_never_leaves_a_separable_one_first():
    assert all(not r.arch.startswith("c32d") for r in reductions("c16s2p2-c32dbp2-f64"))


def test_a_separable_swap_brings_batchnorm_which_folds_away_for_int8():
    swaps = [r.arch for r in reductions("c8s2p2-c16p2") if r.move.startswith("depthwise")]
    assert swaps == ["c8s2p2-c16dbp2"]
