"""The error switch: answer a fixed share of requests with HTTP 500, in a predictable pattern."""

from __future__ import annotations

import math
import threading
from fractions import Fraction


class ErrorSwitch:
    """Decides, request by request, whether to fail so that exactly ``rate`` of them fail.

    Request n (counting from 1) fails when floor(n * rate) grows, so after N requests exactly
    floor(N * rate) have failed: 0.5 fails every second request, 0.25 every fourth, 1 all of them.
    """

    def __init__(self, rate: Fraction | float | str = 0) -> None:
        rate = Fraction(str(rate)) if isinstance(rate, float) else Fraction(rate)
        if not 0 <= rate <= 1:
            raise ValueError(f"error rate {rate} is outside 0..1")
        self.rate = rate
        self._count = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def should_fail(self) -> bool:
        if not self.rate:
            return False
        with self._lock:
            self._count += 1
            n = self._count
        return math.floor(n * self.rate) > math.floor((n - 1) * self.rate)
