"""Holm and Benjamini–Hochberg adjustments, always naming the method."""

import pytest
from numpy.testing import assert_allclose

from outcomes.analysis.multiple import adjust_p_values

P_VALUES = {"A vs B": 0.01, "A vs C": 0.04, "B vs C": 0.03, "A vs D": 0.005}


def test_holm_adjustment_matches_hand_computed_values():
    # Holm (1979) by hand, as R's p.adjust(c(.01,.04,.03,.005), "holm"): .03 .06 .06 .02
    result = adjust_p_values(P_VALUES)
    assert result.method == "holm"
    assert_allclose(result.adjusted, [0.03, 0.06, 0.06, 0.02])
    assert result.reject == (True, False, False, True)


def test_benjamini_hochberg_matches_hand_computed_values():
    # R: p.adjust(c(.01,.04,.03,.005), "BH") gives .02 .04 .04 .02
    result = adjust_p_values(P_VALUES, method="fdr_bh")
    assert_allclose(result.adjusted, [0.02, 0.04, 0.04, 0.02])
    assert result.reject == (True, True, True, True)
    assert "Benjamini" in result.method_name


def test_frame_names_the_method_and_keeps_labels():
    frame = adjust_p_values(P_VALUES).to_frame()
    assert list(frame["comparison"]) == list(P_VALUES)
    assert set(frame["method"]) == {"Holm step-down (family-wise error rate; Holm 1979)"}


def test_sequence_input_gets_numbered_labels():
    assert adjust_p_values([0.2, 0.01]).labels == ("1", "2")


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.2], []])
def test_invalid_p_values_are_refused(bad):
    with pytest.raises(ValueError, match=r"no p-values|p-values must lie between 0 and 1"):
        adjust_p_values(bad)


def test_unknown_method_is_refused_rather_than_defaulting_to_holm_sidak():
    with pytest.raises(ValueError, match="method"):
        adjust_p_values([0.1], method="hs")  # type: ignore[arg-type]
