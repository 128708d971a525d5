import io

import numpy as np
import pytest
import torch
from torch import nn

from edge_affect.errors import InputError
from edge_affect.saliency import (compute_saliency, denormalize, explained_outputs, figure_pixels, gradient_maps,
                                  occlusion_maps, render_png, resolve_target, window_starts)
from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec

SIZE = (32, 32)
REGION = (slice(8, 16), slice(16, 24))  # rows, columns: the only pixels the region models read
LABELS = ("a", "b", "c")


def _spec(color="gray", size=SIZE, regression=False, scale=None, offset=None, labels=LABELS):
    channels = 1 if color == "gray" else 3
    inp = InputSpec(source="face_box", color=color, size=size, resize="bilinear",
                    scale=scale or (2.0 / 255.0,) * channels, offset=offset or (-1.0,) * channels)
    if regression:
        return PipelineSpec(task="valence_arousal", input=inp,
                            output=OutputSpec(kind="regression", post="clamp", labels=labels,
                                              clamp_range=(-1.0, 1.0)))
    return PipelineSpec(task="expression", input=inp, output=OutputSpec(kind="logits", post="softmax", labels=labels))


class RegionClassifier(nn.Module):
    """Logits from the pixels of REGION only."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(64, len(LABELS))

    def forward(self, x):
        return self.fc(torch.tanh(x[:, :, REGION[0], REGION[1]]).flatten(1))


class RegionMean(nn.Module):
    """One output: the mean of REGION (the normalised values)."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # a parameter, so dtype/device are the model's

    def forward(self, x):
        return x[:, :, REGION[0], REGION[1]].mean(dim=(1, 2, 3))[:, None] + 0 * self.unused


class HalvesRegressor(nn.Module):
    """Output 0 from the left half of the image, output 1 from the right half."""

    def __init__(self, channels=3, size=(16, 24)):
        super().__init__()
        torch.manual_seed(1)
        half = channels * size[0] * size[1] // 2
        self.half_width = size[1] // 2
        self.left, self.right = nn.Linear(half, 1), nn.Linear(half, 1)

    def forward(self, x):
        w = self.half_width
        return torch.cat([self.left(x[..., :w].flatten(1)), self.right(x[..., w:].flatten(1))], dim=1)


def _inputs(spec, n=1, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, spec.input.channels, *spec.input.size))
    scale = np.array(spec.input.scale).reshape(1, -1, 1, 1)
    offset = np.array(spec.input.offset).reshape(1, -1, 1, 1)
    return (pixels * scale + offset).astype(np.float32)


# Occluded copies run in batches of another size than the unoccluded input, so
# float32 kernels may round differently: "no change" is zero to within this.
NOISE = 1e-6


def _outside(mask_shape, rows, cols):
    mask = np.ones(mask_shape, dtype=bool)
    mask[rows, cols] = False
    return mask


# ---------------------------------------------------------------------------- where the maps land


def test_gradient_lies_exactly_on_the_region_the_model_reads():
    spec, model = _spec(), RegionClassifier()
    result = compute_saliency(model, spec, _inputs(spec), "gradient")
    saliency = result.maps[0, 0]
    assert result.maps.shape == (1, 1, *SIZE)
    assert np.all(saliency[_outside(SIZE, *REGION)] == 0)
    assert np.all(saliency[REGION] > 0)


def test_occlusion_with_patch_equal_to_stride_partitions_the_image():
    """Each pixel is covered by exactly one window, so the map is the drop of
    that window's probability, constant on each 8x8 block and zero off the region."""
    spec, model = _spec(), RegionClassifier()
    x = _inputs(spec)
    result = compute_saliency(model, spec, x, "occlusion", patch=8, stride=8)
    saliency, target = result.maps[0, 0], int(result.outputs[0, 0])
    assert window_starts(32, 8, 8) == [0, 8, 16, 24]
    assert np.all(np.abs(saliency[_outside(SIZE, *REGION)]) < NOISE)
    block = saliency[REGION]
    assert np.all(block == block[0, 0]) and abs(block[0, 0]) > 1000 * NOISE
    occluded = x.copy()
    occluded[0, :, REGION[0], REGION[1]] = spec.input.offset[0]  # pixel 0 normalised
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(np.concatenate([x, occluded]))), dim=1)[:, target].numpy()
    assert block[0, 0] == pytest.approx(p[0] - p[1], abs=1e-6)
    assert result.values[0, 0] == pytest.approx(p[0], abs=1e-6)


def test_overlapping_occlusion_windows_are_averaged_and_stay_near_the_region():
    spec, model = _spec(), RegionClassifier()
    saliency = compute_saliency(model, spec, _inputs(spec), "occlusion", patch=6, stride=3).maps[0, 0]
    # Only windows that overlap the region change the output: nothing beyond one patch from it.
    near = (slice(REGION[0].start - 5, REGION[0].stop + 5), slice(REGION[1].start - 5, REGION[1].stop + 5))
    assert np.all(np.abs(saliency[_outside(SIZE, *near)]) < NOISE)
    peak = np.unravel_index(np.argmax(np.abs(saliency)), SIZE)
    assert REGION[0].start <= peak[0] < REGION[0].stop and REGION[1].start <= peak[1] < REGION[1].stop
    ring = np.abs(saliency[near])[_outside((18, 18), slice(5, 13), slice(5, 13))]
    assert np.abs(saliency[REGION]).mean() > ring.mean()


def test_occlusion_patch_is_black_in_pixel_space_then_normalised():
    """With x = pixel * 2/255 - 1, a black patch is -1 in the model input, not 0."""
    spec = _spec(regression=True, labels=("mean",))
    x = _inputs(spec)
    result = compute_saliency(RegionMean(), spec, x, "occlusion", patch=8, stride=8)
    expected_drop = x[0, 0, REGION[0], REGION[1]].mean() - (-1.0)
    assert result.maps[0, 0][REGION] == pytest.approx(np.full((8, 8), expected_drop), abs=1e-5)


def test_regressors_get_one_map_per_output_on_its_own_half():
    spec = _spec("rgb", (16, 24), regression=True, labels=("valence", "arousal"))
    model, x = HalvesRegressor(), _inputs(spec, seed=3)
    for method in ("gradient", "occlusion"):
        result = compute_saliency(model, spec, x, method, patch=4, stride=4)
        assert result.maps.shape == (1, 2, 16, 24) and result.outputs.tolist() == [[0, 1]]
        valence, arousal = np.abs(result.maps[0])
        assert np.all(valence[:, 12:] < NOISE) and valence[:, :12].min() > 10 * NOISE, method
        assert np.all(arousal[:, :12] < NOISE) and arousal[:, 12:].min() > 10 * NOISE, method
    with torch.no_grad():
        raw = model(torch.from_numpy(x)).numpy()[0]
    assert result.values[0] == pytest.approx(np.clip(raw, -1, 1), abs=1e-6)
    only = compute_saliency(model, spec, x, "gradient", target="arousal")
    assert only.outputs.tolist() == [[1]] and only.maps.shape == (1, 1, 16, 24)


# ---------------------------------------------------------------------------- the gradient itself


class SmoothNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, len(LABELS))

    def forward(self, x):
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


def test_gradient_equals_finite_differences_of_the_cross_entropy_per_grey_level():
    # Per-channel scales differ, so the pixel units and the max over channels both matter.
    spec = _spec("rgb", (8, 8), scale=(1 / 255, 2 / 255, 4 / 255), offset=(0.0, -1.0, -2.0))
    model = SmoothNet().double()
    x = _inputs(spec).astype(np.float64)
    target = 1
    saliency = gradient_maps(model, spec, x, np.array([[target]]))[0, 0]

    def loss(inputs):
        with torch.no_grad():
            return -torch.log_softmax(model(torch.from_numpy(inputs)), dim=1)[0, target].item()

    eps = 1e-3  # grey levels
    for y, col in [(0, 0), (3, 5), (7, 2), (4, 4)]:
        slopes = []
        for c, scale in enumerate(spec.input.scale):
            up, down = x.copy(), x.copy()
            up[0, c, y, col] += eps * scale
            down[0, c, y, col] -= eps * scale
            slopes.append(abs(loss(up) - loss(down)) / (2 * eps))
        assert saliency[y, col] == pytest.approx(max(slopes), rel=1e-4)


def test_default_target_is_each_samples_predicted_class_and_samples_are_independent():
    spec, model = _spec(), RegionClassifier(seed=4)
    x = _inputs(spec, n=6, seed=5)
    result = compute_saliency(model, spec, x, "gradient")
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    assert result.outputs[:, 0].tolist() == predicted.tolist()
    assert len(set(predicted.tolist())) > 1  # the batch really mixes classes
    for n in (0, 3):
        alone = compute_saliency(model, spec, x[n:n + 1], "occlusion", patch=8, stride=4)
        batched = compute_saliency(model, spec, x, "occlusion", patch=8, stride=4, batch_size=7)
        assert np.allclose(batched.maps[n], alone.maps[0], atol=1e-6)
        assert np.allclose(result.maps[n], compute_saliency(model, spec, x[n:n + 1]).maps[0], atol=1e-7)


def test_maps_are_computed_in_eval_mode_and_the_callers_mode_is_kept():
    spec = _spec()
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(SIZE[0] * SIZE[1], 3))
    model.train()
    x = _inputs(spec)
    first = compute_saliency(model, spec, x, "gradient").maps
    assert np.array_equal(first, compute_saliency(model, spec, x, "gradient").maps)  # no dropout masks
    assert model.training
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------------- windows, targets, errors


def test_window_starts_cover_the_far_edge():
    assert window_starts(10, 4, 4) == [0, 4, 6]
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(8, 8, 1) == [0]


def test_targets_by_name_or_index():
    output = _spec().output
    assert resolve_target(output, "b") == resolve_target(output, "1") == resolve_target(output, 1) == 1
    assert resolve_target(output, None) is None
    for bad in ("happy", "3", "-1", True):
        with pytest.raises(InputError, match="not one of this model's outputs"):
            resolve_target(output, bad)
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert explained_outputs(_spec(), probs, None).tolist() == [[1], [0]]
    assert explained_outputs(_spec(), probs, 2).tolist() == [[2], [2]]


@pytest.mark.parametrize("patch, stride, message", [(33, 4, "larger than the model input"),
                                                    (8, 0, "--stride"), (0, 1, "--patch")])
def test_bad_windows_are_refused(patch, stride, message):
    spec = _spec()
    with pytest.raises(InputError, match=message):
        compute_saliency(RegionClassifier(), spec, _inputs(spec), "occlusion", patch=patch, stride=stride)


def test_bad_inputs_are_refused():
    spec = _spec()
    with pytest.raises(InputError, match=r"expected a float batch \(N, 1, 32, 32\)"):
        compute_saliency(RegionClassifier(), spec, np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(InputError, match="method"):
        compute_saliency(RegionClassifier(), spec, _inputs(spec), "lime")
    with pytest.raises(InputError, match="outputs"):
        occlusion_maps(RegionClassifier(), spec, _inputs(spec), np.array([[3]]), 8, 8)


# ---------------------------------------------------------------------------- the crop and the picture


def test_denormalize_gives_back_the_crop_exactly():
    from edge_affect.data.samples import real_face_crops
    from edge_affect.models import get_spec
    from edge_affect.runtime.preprocess import crop_face, normalize

    for name in ("mini_xception_fer2013", "face_va_mobile"):
        spec = get_spec(name).input
        crop = crop_face(real_face_crops(color=spec.color)[0], spec)
        assert np.array_equal(denormalize(normalize(crop, spec)[None], spec)[0], crop)


def test_png_has_the_planned_size_and_layout():
    import matplotlib.image

    crop = np.random.default_rng(0).integers(0, 256, (64, 192), dtype=np.uint8)
    maps = np.random.default_rng(1).normal(size=(2, 64, 192)).astype(np.float32)
    png = render_png(crop, maps, ["valence = +0.100", "arousal = -0.200"], "occlusion", "drop", "eye slot")
    assert png.startswith(b"\x89PNG")
    assert matplotlib.image.imread(io.BytesIO(png)).shape[:2] == figure_pixels(2, (64, 192))
    assert figure_pixels(2, (64, 192))[0] > figure_pixels(2, (64, 192))[1] / 3  # wide crops stack in a column
    assert figure_pixels(2, (96, 96))[1] > 2 * figure_pixels(2, (96, 96))[0]  # square ones sit in a row
    with pytest.raises(InputError, match="render"):
        render_png(crop, maps[:1], ["a", "b"], "gradient")
