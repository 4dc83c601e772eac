"""NPS, CSI and the noise test against hand-worked examples."""

from __future__ import annotations

import math

import pytest

from qms.services.surveys import measures


def test_nps_hand_worked():
    # 10 answers: promoters 9, 10, 10, 9 (4); passives 7, 8 (2); detractors 0, 5, 6, 3 (4)
    result = measures.nps([9, 10, 10, 9, 7, 8, 0, 5, 6, 3])
    assert (result.n, result.promoters, result.passives, result.detractors) == (10, 4, 2, 4)
    assert result.score == 0.0
    # with one pseudo-answer of each kind p = d = 5 / 13; variance p + d − (p − d)² = 0.769;
    # se = sqrt(0.769 / 10) = 0.2774
    assert result.standard_error == pytest.approx(27.74, abs=0.01)
    assert result.margin == pytest.approx(54.4, abs=0.1)


@pytest.mark.parametrize(
    ("values", "score"),
    [
        ([9, 10, 10], 100.0),  # all promoters
        ([0, 6, 3, 5], -100.0),  # all detractors
        ([7, 8, 7], 0.0),  # all passives
        ([10, 10, 10, 6], 50.0),  # 75 % − 25 %
        ([6, 9, 9], 33.3),  # 66.7 % − 33.3 %
    ],
)
def test_nps_extremes(values, score):
    assert measures.nps(values).score == score


def test_nps_without_responses_is_unknown_not_zero():
    result = measures.nps([])
    assert result.n == 0 and result.score is None and result.margin is None


def test_unanimous_small_samples_are_not_certain():
    # 5 promoters: p = 6 / 8, d = 1 / 8 → variance 0.875 − 0.390625 = 0.484; se = sqrt(0.484 / 5) = 0.311
    assert measures.nps([10] * 5).standard_error == pytest.approx(31.13, abs=0.01)
    # five 10s, then 10, 10, 9, 8, 8: NPS 100 → 60 on 5 answers each is within noise (threshold 86)
    high, low = measures.nps([10] * 5), measures.nps([10, 10, 9, 8, 8])
    assert low.score == 60.0
    assert measures.change_is_noise(high.score, low.score, high.standard_error, low.standard_error, 5, 5)
    assert measures.csi([{1: 5}] * 5, {1: (1, 5)}, {1: 1}).standard_error > 0


def test_nps_refuses_values_off_the_scale():
    with pytest.raises(ValueError):
        measures.nps([11])


def test_csi_weighted_mean_of_rescaled_question_means():
    # q1 on 1–5 with weight 2: answers 5 and 3 → mean 4 → (4 − 1) / 4 × 100 = 75
    # q2 on 1–7 with weight 1: answers 7 and 1 → mean 4 → (4 − 1) / 6 × 100 = 50
    # CSI = (2 × 75 + 1 × 50) / 3 = 66.67
    responses = [{1: 5, 2: 7}, {1: 3, 2: 1}]
    result = measures.csi(responses, {1: (1, 5), 2: (1, 7)}, {1: 2, 2: 1})
    assert result.n == 2
    assert result.score == pytest.approx(66.7)
    # per-response scores (2×100 + 100)/3 = 100 and (2×50 + 0)/3 = 33.33, plus pseudo-responses 0 and 100:
    # mean 58.33, sample variance 7500 / 3 = 2500, se = 50 / sqrt(2) = 35.36
    assert result.standard_error == pytest.approx(35.36, abs=0.01)


def test_csi_ignores_zero_weights_and_unrated_questions():
    responses = [{1: 5, 2: 1, 9: 4}]
    result = measures.csi(responses, {1: (1, 5), 2: (1, 5)}, {1: 1, 2: 0})
    assert result.score == 100.0 and result.n == 1


def test_csi_without_responses():
    assert measures.csi([], {1: (1, 5)}, {1: 1}).score is None


def test_change_within_noise():
    # two periods of 10: se 20 each → threshold 1.96 × sqrt(800) = 55.4
    assert measures.change_is_noise(10, 50, 20, 20, 10, 10)
    assert not measures.change_is_noise(-30, 40, 20, 20, 10, 10)
    # too few responses: never a change
    assert measures.change_is_noise(-100, 100, 0.1, 0.1, 4, 100)
    assert measures.change_is_noise(None, 10, 1, 1, 50, 50)


def test_rescale():
    assert measures.rescale(3, 1, 5) == 50
    assert math.isclose(measures.rescale(10, 0, 10), 100)
