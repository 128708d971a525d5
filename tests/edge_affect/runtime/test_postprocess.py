import numpy as np

from edge_affect.runtime.postprocess import EmaSmoother, postprocess, softmax
from edge_affect.spec import OutputSpec


def test_softmax_is_stable_and_normalised():
    p = softmax(np.array([[1000.0, 1000.0, 0.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]], atol=1e-12)


def test_post_ops():
    raw = np.array([[-3.0, 0.0, 3.0]])
    clamp = OutputSpec(kind="regression", post="clamp", labels=("a", "b", "c"), clamp_range=(-1.0, 1.0))
    np.testing.assert_array_equal(postprocess(raw, clamp), [[-1, 0, 1]])
    sig = OutputSpec(kind="logits", post="sigmoid", labels=("a", "b", "c"))
    np.testing.assert_allclose(postprocess(raw, sig)[0, 1], 0.5)


def test_ema_smoothing():
    s = EmaSmoother(0.5)
    assert s.update(np.array([1.0])).tolist() == [1.0]
    assert s.update(np.array([0.0])).tolist() == [0.5]
    assert s.update(np.array([0.0])).tolist() == [0.25]
    s.reset()
    assert s.update(np.array([2.0])).tolist() == [2.0]
