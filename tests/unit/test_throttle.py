"""The pure sign-in throttle rules: windows, locks, growing backoff, client addresses."""

from __future__ import annotations

import datetime as dt

import pytest

from outcomes.access import throttle
from outcomes.access.throttle import Counter, Rule, after_failure, current, is_locked, lock_length
from outcomes.config import Settings

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
ACCOUNT = Rule(limit=3, window=10 * MINUTE, first_lock=10 * MINUTE)
GROWING = Rule(limit=3, window=10 * MINUTE, first_lock=10 * MINUTE, growth=2, max_lock=80 * MINUTE)


def _fail(counter: Counter, rule: Rule, times: int, at: dt.datetime) -> Counter:
    for _ in range(times):
        counter = after_failure(counter, rule, at)
    return counter


def test_a_counter_locks_at_its_limit_for_exactly_the_first_lock() -> None:
    counter = _fail(Counter(), ACCOUNT, 2, AT)
    assert not is_locked(counter, AT)
    counter = after_failure(counter, ACCOUNT, AT + MINUTE)
    assert counter.locked_until == AT + 11 * MINUTE
    assert is_locked(counter, AT + 11 * MINUTE - dt.timedelta(microseconds=1))
    assert not is_locked(counter, AT + 11 * MINUTE)


def test_failures_older_than_the_window_are_forgotten() -> None:
    counter = _fail(Counter(), ACCOUNT, 2, AT)
    assert current(counter, ACCOUNT, AT + 10 * MINUTE) == Counter()
    counter = after_failure(counter, ACCOUNT, AT + 10 * MINUTE)
    assert counter.failures == 1 and not is_locked(counter, AT + 10 * MINUTE)


def test_a_lock_is_remembered_for_a_window_after_it_ends_then_forgotten() -> None:
    locked = _fail(Counter(), ACCOUNT, 3, AT)  # locked until 10 minutes
    relocked = after_failure(locked, ACCOUNT, AT + 15 * MINUTE)
    assert relocked.locked_until == AT + 25 * MINUTE  # one more failure locks again
    fresh = after_failure(locked, ACCOUNT, AT + 20 * MINUTE)  # quiet for a whole window
    assert fresh == Counter(1, AT + 20 * MINUTE, None)


def test_the_account_lock_never_grows() -> None:
    assert {lock_length(ACCOUNT, beyond) for beyond in range(50)} == {10 * MINUTE}


def test_a_growing_lock_doubles_with_each_further_failure_up_to_its_cap() -> None:
    assert [lock_length(GROWING, b) for b in range(6)] == [
        10 * MINUTE,
        20 * MINUTE,
        40 * MINUTE,
        80 * MINUTE,
        80 * MINUTE,
        80 * MINUTE,
    ]
    assert lock_length(GROWING, 10**6) == 80 * MINUTE  # no overflow


def test_each_failure_after_a_growing_lock_ends_waits_twice_as_long() -> None:
    counter, at, waits = _fail(Counter(), GROWING, 3, AT), AT, []
    for _ in range(4):
        assert counter.locked_until is not None
        waits.append(counter.locked_until - at)
        at = counter.locked_until  # the next attempt comes as soon as the lock ends
        counter = after_failure(counter, GROWING, at)
    assert waits == [10 * MINUTE, 20 * MINUTE, 40 * MINUTE, 80 * MINUTE]


def test_a_growing_lock_is_remembered_as_long_as_it_lasted() -> None:
    counter = _fail(Counter(), GROWING, 5, AT)  # the third lock: 40 minutes
    assert counter.locked_until == AT + 40 * MINUTE
    assert current(counter, GROWING, AT + 79 * MINUTE) == counter
    assert current(counter, GROWING, AT + 80 * MINUTE) == Counter()


def test_the_settings_define_a_fixed_account_lock_and_growing_address_and_global_locks() -> None:
    rules = throttle.rules(
        Settings(signin_max_failures=5, signin_lock_minutes=15, signin_ip_max_failures=30)
    )
    assert rules["account"] == Rule(5, 15 * MINUTE, 15 * MINUTE)
    assert rules["ip"].limit == 30 and rules["ip"].first_lock == 15 * MINUTE
    assert lock_length(rules["ip"], 100) == dt.timedelta(hours=24)
    assert lock_length(rules["global"], 0) == dt.timedelta(seconds=2)
    assert lock_length(rules["global"], 100) == dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        (None, ["198.51.100.7"], "198.51.100.7"),
        # The client wrote the left entries; the proxy appended the right-most one.
        (None, ["1.2.3.4, 5.6.7.8, 198.51.100.7"], "198.51.100.7"),
        (None, ["1.2.3.4", "198.51.100.7"], "198.51.100.7"),  # a repeated header
        (None, ["198.51.100.7, 127.0.0.1"], "198.51.100.7"),  # a second proxy on this host
        (None, ["198.51.100.7:50123"], "198.51.100.7"),
        (None, ["[2001:db8::1]:443"], "2001:db8::1"),
        ("203.0.113.9", ["1.2.3.4, not-an-address"], "203.0.113.9"),
        ("203.0.113.9", [""], "203.0.113.9"),
    ],
)
def test_the_client_is_the_right_most_address_a_trusted_proxy_wrote(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert throttle.client_address(peer, forwarded) == client


def test_ipv6_clients_are_counted_by_their_64_bit_network() -> None:
    one = throttle.address_bucket("2001:db8:1:2::1")
    assert one == throttle.address_bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert one != throttle.address_bucket("2001:db8:1:3::1")
    assert throttle.address_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle.address_bucket(None) == throttle.address_bucket("junk") == "local"


def test_throttle_keys_are_labelled_hmacs_not_the_values() -> None:
    settings = Settings(secret_key="k" * 40)
    keys = throttle.keys_for(settings, address="ana@example.org", client="192.0.2.1")
    assert len(keys.account) == len(keys.ip) == 64
    assert "ana" not in keys.account and "192" not in keys.ip
    again = throttle.keys_for(settings, address="ana@example.org", client="192.0.2.2")
    assert again.account == keys.account and again.ip != keys.ip


class _Headers(dict[str, list[str]]):
    def get_all(self, key: str) -> list[str]:
        return list(self.get(key.lower(), []))


def test_behind_a_trusted_proxy_the_app_reads_the_client_from_its_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from outcomes.web import context as webapp

    context = SimpleNamespace(
        ip_address="10.0.0.2",  # the proxy
        headers=_Headers({"x-forwarded-for": ["6.6.6.6, 198.51.100.7"]}),
    )
    monkeypatch.setattr(webapp, "st", SimpleNamespace(context=context))
    monkeypatch.setenv("OUTCOMES_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
    assert webapp.client_address() == "198.51.100.7"
    monkeypatch.delenv("OUTCOMES_TRUSTED_PROXY_HEADER")
    assert webapp.client_address() == "10.0.0.2"  # no proxy trusted: the peer, header ignored
