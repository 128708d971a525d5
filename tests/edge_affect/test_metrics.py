"""Metrics against values worked out by hand (the arithmetic is in the comments)."""

import math

import numpy as np
import pytest

from edge_affect import metrics as m
from edge_affect.errors import InputError

# ---------------------------------------------------------------- classification
Y_TRUE = [0, 1, 2, 2, 1]
Y_PRED = [0, 2, 2, 2, 1]


def test_accuracy_counts_matches():
    assert m.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 5)  # only sample 1 (1 -> 2) is wrong


def test_confusion_matrix_rows_are_truth():
    expected = np.array([
        [1, 0, 0],  # the one 0 predicted 0
        [0, 1, 1],  # the two 1s: one right, one called 2
        [0, 0, 2],  # the two 2s, both right
    ])
    np.testing.assert_array_equal(m.confusion_matrix(Y_TRUE, Y_PRED), expected)
    assert m.confusion_matrix(Y_TRUE, Y_PRED, num_classes=4).shape == (4, 4)


def test_per_class_precision_recall_f1():
    report = m.per_class_report(Y_TRUE, Y_PRED, num_classes=4)
    # precision = diag / column sums: 1/1, 1/1, 2/3, class 3 never predicted -> 0
    np.testing.assert_allclose(report.precision, [1, 1, 2 / 3, 0])
    # recall = diag / row sums: 1/1, 1/2, 2/2, class 3 absent -> 0
    np.testing.assert_allclose(report.recall, [1, 0.5, 1, 0])
    # F1 = 2PR/(P+R): 1, 2*0.5/1.5 = 2/3, 2*(2/3)/(5/3) = 0.8, 0
    np.testing.assert_allclose(report.f1, [1, 2 / 3, 0.8, 0])
    np.testing.assert_array_equal(report.support, [1, 2, 2, 0])
    assert report.macro_f1 == pytest.approx((1 + 2 / 3 + 0.8) / 4)


def test_class_labels_must_fit_num_classes():
    with pytest.raises(InputError, match="num_classes"):
        m.confusion_matrix([0, 3], [0, 1], num_classes=3)
    with pytest.raises(InputError, match="expected 2 values"):
        m.accuracy([0, 1], [0, 1, 1])


# ---------------------------------------------------------------- regression
def test_rmse():
    assert m.rmse([0, 0, 0, 0], [1, -1, 1, -1]) == pytest.approx(1.0)
    assert m.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))  # one error of 2


def test_pcc():
    assert m.pcc([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert m.pcc([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # deviations t: -1.5 -0.5 0.5 1.5, p: -1.5 0.5 -0.5 1.5; sum of products 2.25-0.25-0.25+2.25 = 4;
    # sum of squares 5 each -> 4/5
    assert m.pcc([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert math.isnan(m.pcc([1, 2, 3], [5, 5, 5]))


def test_ccc_identical_is_one_and_offset_lowers_it_below_pcc():
    assert m.ccc([0.1, -0.4, 0.9], [0.1, -0.4, 0.9]) == pytest.approx(1.0)
    # t = 1 2 3, p = t + 1: var 2/3 each, cov 2/3, mean gap 1 -> 2(2/3) / (2/3 + 2/3 + 1) = 4/7
    assert m.ccc([1, 2, 3], [2, 3, 4]) == pytest.approx(4 / 7)
    assert m.ccc([1, 2, 3], [2, 3, 4]) < m.pcc([1, 2, 3], [2, 3, 4]) == pytest.approx(1.0)
    # p = 2t: var_t 2/3, var_p 8/3, cov 4/3, mean gap 2 -> (8/3) / (2/3 + 8/3 + 4) = 8/22
    assert m.ccc([1, 2, 3], [2, 4, 6]) == pytest.approx(8 / 22)


def test_icc_3_1_matches_shrout_fleiss_1979_table():
    # Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
    ratings = np.array([
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ])
    # Their ANOVA: BMS = 11.24, EMS = 1.02 -> ICC(3,1) = (11.24 - 1.02) / (11.24 + 3 * 1.02) = .71
    assert m.icc_3_1(ratings) == pytest.approx(0.71, abs=0.005)
    assert m.icc_3_1(ratings) == pytest.approx((11.2417 - 1.0194) / (11.2417 + 3 * 1.0194), abs=1e-3)


def test_icc_of_prediction_pair():
    assert m.icc([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    # consistency ICC ignores a constant offset (unlike CCC)
    assert m.icc([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(1.0)
    with pytest.raises(InputError):
        m.icc_3_1(np.ones((1, 3)))


def test_sagr_is_fraction_of_matching_signs():
    # signs: (+,+) yes, (-,+) no, (+,-) no, (-,-) yes
    assert m.sagr([0.5, -0.2, 0.1, -0.9], [0.3, 0.4, -0.1, -0.1]) == pytest.approx(0.5)


def test_regression_report_keys():
    report = m.regression_report([0.1, -0.5, 0.3], [0.2, -0.4, 0.1])
    assert set(report) == {"rmse", "pcc", "ccc", "icc", "sagr"}


# ---------------------------------------------------------------- binary scores
T = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_auc_counts_pairs_with_ties_as_half():
    # pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8 beats both -> 3/4
    assert m.roc_auc(T, S) == pytest.approx(0.75)
    # pos 0.5 vs neg 0.5 tie (1/2), vs 0.2 win; pos 0.9 wins both -> 3.5/4
    assert m.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)
    assert m.roc_auc([0, 1, 0, 1, 1], [0.3] * 5) == pytest.approx(0.5)
    assert m.roc_auc([0, 0, 1], [0.1, 0.2, 0.9]) == 1.0
    assert m.roc_auc([0, 0, 1], [0.9, 0.2, 0.1]) == 0.0


def test_roc_curve_points_and_area():
    fpr, tpr, thresholds = m.roc_curve(T, S)
    np.testing.assert_allclose(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    # the trapezoid area of the curve is the rank AUC, ties included
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 200)
    s = np.round(rng.random(200), 1)  # many ties
    fpr, tpr, _ = m.roc_curve(t, s)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(m.roc_auc(t, s))


def test_precision_recall_curve_and_average_precision():
    precision, recall, thresholds = m.precision_recall_curve(T, S)
    np.testing.assert_allclose(thresholds, [0.8, 0.4, 0.35, 0.1])
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 1 / 2])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1, 1])
    # recall steps 0.5, 0, 0.5, 0 times precision -> 0.5 + 1/3
    assert m.average_precision(T, S) == pytest.approx(0.5 + 1 / 3)


def test_threshold_selection():
    # J = tpr - fpr at 0.8, 0.4, 0.35, 0.1: 0.5, 0, 0.5, 0 -> tie, the higher threshold wins
    assert m.youden_threshold(T, S) == m.ThresholdChoice(0.8, 0.5)
    # F1 at 0.8: 2/3; 0.4: 1/2; 0.35: 2(2/3)(1)/(5/3) = 0.8; 0.1: 2/3
    best = m.max_f1_threshold(T, S)
    assert best.threshold == 0.35 and best.objective == pytest.approx(0.8)


def test_binary_report_at_threshold():
    # predicted positive: 0.4, 0.35, 0.8 -> tp 2, fp 1, fn 0, tn 1
    report = m.binary_report(T, S, 0.35)
    assert report["accuracy"] == pytest.approx(0.75)
    assert report["precision"] == pytest.approx(2 / 3)
    assert report["recall"] == 1.0
    assert report["f1"] == pytest.approx(0.8)
    assert report["auc"] == pytest.approx(0.75)


def test_binary_metrics_need_both_classes_and_finite_scores():
    with pytest.raises(InputError, match="both classes"):
        m.roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(InputError, match="binary"):
        m.roc_auc([0, 2], [0.2, 0.3])
    with pytest.raises(InputError, match="finite"):
        m.roc_auc([0, 1], [0.2, float("nan")])
