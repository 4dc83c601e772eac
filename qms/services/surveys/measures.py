"""Satisfaction measures, pure functions: Net Promoter Score, Customer Satisfaction Index, noise.

Kept apart from the database so that the arithmetic is tested against hand-worked examples.

- **NPS** (on the 0–10 likelihood-to-recommend question): % promoters (9–10) minus % detractors
  (0–6), from −100 to +100. Its standard error follows from treating each answer as +1, 0 or −1:
  ``sqrt((p + d − (p − d)²) / n)``, with p and d taken as ``(count + 1) / (n + 3)`` (one
  pseudo-answer of each kind) so that a small, unanimous sample is not read as certain.
- **CSI**: each rating question's mean, rescaled to 0–100 (``(mean − min) / (max − min) × 100``),
  combined as a weighted mean with the questions' weights. Its standard error comes from the
  per-response scores (each response's weighted mean of its rescaled answers), with two
  pseudo-responses at 0 and 100 added to the spread for the same reason.
- A change between two periods is *within noise* when it is smaller than 1.96 standard errors of
  the difference (a 95 % two-sided test), or when either period has fewer than ``MIN_RESPONSES``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: below this many responses a period's figure is shown but never called a change
MIN_RESPONSES = 5
Z_95 = 1.96


@dataclass(frozen=True)
class Nps:
    n: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        if not self.n:
            return None
        return round(100 * (self.promoters - self.detractors) / self.n, 1)

    @property
    def standard_error(self) -> float | None:
        """In NPS points."""
        if not self.n:
            return None
        p, d = (self.promoters + 1) / (self.n + 3), (self.detractors + 1) / (self.n + 3)
        variance = p + d - (p - d) ** 2
        return round(100 * math.sqrt(max(variance, 0.0) / self.n), 2)

    @property
    def margin(self) -> float | None:
        """Half-width of the 95 % confidence interval, in NPS points."""
        se = self.standard_error
        return None if se is None else round(Z_95 * se, 1)


def nps(values: Iterable[float]) -> Nps:
    """NPS of 0–10 answers; values outside 0–10 are a programming error, not data."""
    promoters = passives = detractors = 0
    for value in values:
        if not 0 <= value <= 10:
            raise ValueError(f"likelihood to recommend must be 0–10, not {value}")
        if value >= 9:
            promoters += 1
        elif value >= 7:
            passives += 1
        else:
            detractors += 1
    return Nps(promoters + passives + detractors, promoters, passives, detractors)


@dataclass(frozen=True)
class Csi:
    n: int
    score: float | None
    standard_error: float | None

    @property
    def margin(self) -> float | None:
        return None if self.standard_error is None else round(Z_95 * self.standard_error, 1)


def rescale(value: float, low: float, high: float) -> float:
    """A value on a low–high scale as 0–100."""
    return 100 * (value - low) / (high - low)


def csi(
    responses: Sequence[Mapping[int, float]],
    scales: Mapping[int, tuple[float, float]],
    weights: Mapping[int, float],
) -> Csi:
    """The CSI of responses given as {question id: answer}, for the rating questions in ``scales``.

    Questions with weight 0 (or no answers) do not count. ``n`` is the number of responses with at
    least one counted answer.
    """
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    per_response: list[float] = []
    for response in responses:
        total = weight_sum = 0.0
        for question, value in response.items():
            if question not in scales or weights.get(question, 0) <= 0:
                continue
            low, high = scales[question]
            scaled = rescale(value, low, high)
            sums[question] = sums.get(question, 0.0) + scaled
            counts[question] = counts.get(question, 0) + 1
            total += weights[question] * scaled
            weight_sum += weights[question]
        if weight_sum:
            per_response.append(total / weight_sum)
    weight_total = sum(weights[q] for q in counts)
    if not per_response or not weight_total:
        return Csi(0, None, None)
    score = sum(weights[q] * sums[q] / counts[q] for q in counts) / weight_total
    spread = [*per_response, 0.0, 100.0]  # two pseudo-responses: no certainty from a few identical ones
    mean = sum(spread) / len(spread)
    variance = sum((x - mean) ** 2 for x in spread) / (len(spread) - 1)
    se = round(math.sqrt(variance / len(per_response)), 2)
    return Csi(len(per_response), round(score, 1), se)


def change_is_noise(
    previous: float | None,
    current: float | None,
    se_previous: float | None,
    se_current: float | None,
    n_previous: int,
    n_current: int,
) -> bool:
    """Whether the change from ``previous`` to ``current`` is within what chance alone explains."""
    if previous is None or current is None or min(n_previous, n_current) < MIN_RESPONSES:
        return True
    if se_previous is None or se_current is None:
        return True
    return abs(current - previous) < Z_95 * math.sqrt(se_previous**2 + se_current**2)
