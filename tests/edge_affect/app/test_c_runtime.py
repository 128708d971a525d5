import numpy as np
import pytest

from edge_affect.bundle import load_bundle
from edge_affect.converters import get_converter


@pytest.mark.slow  # the c_backend fixture builds the Apollo3 bundle once per session
def test_library_runner_equals_the_bundle_harness_bit_for_bit(c_backend):
    bundle = load_bundle(c_backend.bundle)
    inputs = bundle.load_array("inputs")[:4]
    harness = get_converter("apollo3").load(bundle.root, bundle.manifest)  # links inputs into an executable
    np.testing.assert_array_equal(c_backend.runner(inputs), harness(inputs))
    # and so equals the bundle's golden outputs (the numpy int8 reference), which parity holds bit-exact
    np.testing.assert_array_equal(c_backend.runner(inputs), bundle.load_array("outputs")[:4])
