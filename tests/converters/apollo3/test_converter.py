"""End to end: mini_xception_fer2013 -> apollo3 bundle -> host harness and
Cortex-M4F image on QEMU, bit-exact with the numpy int8 reference; top-1
agreement with eager fp32 on real faces; bad inputs rejected."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edge_affect.bundle import load_bundle
from edge_affect.converters import get_converter
from edge_affect.converters.apollo3 import toolchain
from edge_affect.converters.apollo3.converter import HarnessRunner
from edge_affect.converters.build import plan
from edge_affect.errors import ConversionError
from edge_affect.models import get_spec
from edge_affect.parity import TOP1_BAR, decisive_inputs, logit_quantum

QEMU_SUBSET = 8


@pytest.fixture(scope="module")
def bundle(apollo3_bundle):
    return load_bundle(apollo3_bundle)


@pytest.mark.slow
def test_host_harness_is_bit_exact_on_every_golden(bundle):
    runner = get_converter("apollo3").builds(bundle.root, bundle.manifest)["host"]
    inputs, expected = bundle.load_array("inputs"), bundle.load_array("outputs")
    actual = runner(inputs)
    assert len(inputs) >= 100
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.slow
def test_reference_kernels_on_the_host_are_bit_exact_too(bundle):
    runner = HarnessRunner(bundle.root / bundle.manifest["artifact"], "host", kernels="reference")
    inputs, expected = bundle.load_array("inputs")[:16], bundle.load_array("outputs")[:16]
    np.testing.assert_array_equal(runner(inputs), expected)


@pytest.mark.slow
def test_qemu_cortex_m4_image_is_bit_exact(bundle):
    if not toolchain.find_tools().can_run_qemu:
        pytest.skip(f"Cortex-M4 toolchain or QEMU missing; install: {toolchain.INSTALL_HINT}")
    runner = get_converter("apollo3").builds(bundle.root, bundle.manifest)["qemu"]
    inputs, expected = bundle.load_array("inputs"), bundle.load_array("outputs")
    # Real and synthetic faces both: the first and last goldens of the set.
    pick = np.r_[0:QEMU_SUBSET // 2, len(inputs) - QEMU_SUBSET // 2:len(inputs)]
    np.testing.assert_array_equal(runner(inputs[pick]), expected[pick])


def test_top1_agrees_with_fp32_on_real_faces(bundle):
    n_real = bundle.manifest["goldens"]["n_real"]
    probabilities, fp32 = bundle.load_array("outputs")[:n_real], bundle.load_array("fp32_outputs")[:n_real]
    agree = probabilities.argmax(1) == fp32.argmax(1)
    decisive = decisive_inputs(fp32, logit_quantum(bundle.manifest))
    print(f"apollo3 int8 top-1 vs eager fp32 on {n_real} real faces: {agree.mean():.4f} all, "
          f"{agree[decisive].mean():.4f} on the {decisive.sum()} with a resolvable margin")
    assert decisive.sum() >= n_real // 2
    assert agree[decisive].mean() >= TOP1_BAR


def test_manifest_records_the_bit_exact_bar_and_the_plan(bundle):
    m = bundle.manifest
    assert m["target"] == "apollo3" and m["precision"] == "int8" and m["artifact"] == "firmware"
    assert m["tolerance"]["raw_max_abs"] == 0.0
    assert m["raw_outputs"] == "post_processed"
    assert m["quantization"]["output"] == {"scale": 1 / 256, "zero_point": -128, "post_on_device": "softmax"}
    assert 0 < m["apollo3"]["arena_bytes"] == m["quantization"]["arena_bytes"] <= 160 * 1024
    assert 9_000_000 < m["apollo3"]["macs"] < 11_000_000
    outputs = bundle.load_array("outputs")
    # Probabilities on the int8 grid of the device's softmax.
    np.testing.assert_array_equal(outputs * 256, np.round(outputs * 256))
    assert "firmware/model/model.c" not in m["files"] and "firmware" in m["files"]


def test_structural_checks_pass(bundle):
    from edge_affect.models import create_model

    checks = get_converter("apollo3").structural_checks(bundle.root, bundle.manifest,
                                                        create_model(bundle.model, pretrained=False))
    assert checks and all(c.passed for c in checks), checks


def test_apollo3_is_not_a_phone_target():
    assert all(target != "apollo3" for target, _ in plan("all", None))
    assert plan("apollo3", None) == [("apollo3", "int8")]
    with pytest.raises(ConversionError, match="builds precisions"):
        plan("apollo3", "fp32")


@pytest.mark.parametrize("calibration, message", [
    (np.zeros((0, 1, 64, 64), np.float32), "N >= 1"),
    (np.zeros((4, 1, 48, 48), np.float32), r"expected a float32 array \(N, 1, 64, 64\)"),
    ([[0.0]], "got list"),
])
def test_bad_calibration_is_rejected_before_any_work(calibration, message, tmp_path):
    converter = get_converter("apollo3")
    model = torch.nn.Conv2d(1, 1, 3)
    with pytest.raises(ConversionError, match=message):
        converter.export(model, get_spec("mini_xception_fer2013"), "int8", calibration, tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_parity_cli_reports_both_builds(apollo3_bundle, tmp_path, capsys):
    if not toolchain.find_tools().can_run_qemu:
        pytest.skip(f"Cortex-M4 toolchain or QEMU missing; install: {toolchain.INSTALL_HINT}")
    from edge_affect.cli import main

    small = _bundle_with_fewer_goldens(apollo3_bundle, tmp_path / "bundle", keep=6)
    code = main(["parity", str(small), "--json"])
    row = json.loads(capsys.readouterr().out.strip())
    assert set(row["builds"]) == {"host", "qemu"}
    for build in row["builds"].values():
        assert build["bit_exact"] is True and build["max_abs_diff_raw"] == 0.0
        assert 0 <= build["max_abs_diff_fp32"] < 1 and 0 <= build["top1_agreement"] <= 1
    assert row["bit_exact"] is True and row["n_inputs"] == 6
    assert code == (0 if row["pass"] else 1)
    assert all("bit-exact" not in f for f in row["failures"])


def _bundle_with_fewer_goldens(src, dst, keep: int):
    """A copy of the bundle with its first `keep` goldens (manifest hashes updated), to keep QEMU time short."""
    import shutil

    from edge_affect.fileio import sha256_tree

    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    for key, rel in manifest["goldens"].items():
        if isinstance(rel, str) and rel.endswith(".npy"):
            np.save(dst / rel, np.load(dst / rel)[:keep])
            manifest["files"][rel] = sha256_tree(dst / rel)
    manifest["goldens"].update(n=keep, n_real=min(keep, manifest["goldens"]["n_real"]))
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst
