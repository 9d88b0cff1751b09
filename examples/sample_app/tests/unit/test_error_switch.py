import threading
from fractions import Fraction

import pytest

from sample_app.faults import ErrorSwitch


def pattern(rate, count):
    switch = ErrorSwitch(rate)
    return [switch.should_fail() for _request in range(count)]


def test_zero_never_fails():
    assert not any(pattern(0, 1000))
    assert not ErrorSwitch(0).enabled


def test_one_always_fails():
    assert all(pattern(1, 100))


def test_half_fails_exactly_every_second_request():
    assert pattern(Fraction(1, 2), 8) == [False, True] * 4


def test_quarter_fails_exactly_every_fourth_request():
    assert pattern("0.25", 8) == [False, False, False, True] * 2


@pytest.mark.parametrize(("rate", "count", "failures"), [("0.1", 1000, 100), ("0.3", 10, 3), ("0.7", 7, 4)])
def test_failure_count_is_exactly_the_share_of_requests(rate, count, failures):
    assert sum(pattern(Fraction(rate), count)) == failures


def test_float_rates_are_taken_as_their_decimal_value():
    assert sum(pattern(0.1, 1000)) == 100


def test_concurrent_requests_still_fail_exactly_half():
    switch = ErrorSwitch(Fraction(1, 2))
    results = []
    lock = threading.Lock()

    def worker():
        local = [switch.should_fail() for _request in range(250)]
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2000
    assert sum(results) == 1000


def test_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="outside"):
        ErrorSwitch(Fraction(3, 2))
