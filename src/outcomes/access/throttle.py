"""Failed-sign-in throttles: one windowed counter per e-mail, per client address, and global.

Every failed password or second-factor attempt counts, in the same way whether or not the
e-mail belongs to an account, on three counters in ``signin_throttle``:

- ``account``: keyed by the purpose-labelled HMAC (``Purpose.THROTTLE``) of the normalised
  e-mail. ``signin_max_failures`` failures lock it for ``signin_lock_minutes``; the lock
  never grows, so it is a delay, never a permanent lock.
- ``ip``: keyed by the HMAC of the client address (an IPv6 address by its /64 network, which
  one client usually holds whole). ``signin_ip_max_failures`` failures lock it for
  ``signin_lock_minutes``, doubling with each further failure, at most 24 hours.
- ``global``: one counter (key ``*``). ``signin_global_max_failures`` failures pause password
  sign-in for 2 seconds, doubling with each further failure, at most a minute.

The rules are pure functions of a ``Counter``, a ``Rule`` and the time; the store functions
below read and write the rows. A counter is forgotten once it has been quiet for its window
(and, after a lock, for as long as that lock lasted); a successful sign-in deletes the
account counter.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from outcomes.config import Settings
from outcomes.keys import Purpose, labelled_hmac_hex
from outcomes.store.tables import SigninThrottle

ACCOUNT, IP, GLOBAL, LINK = "account", "ip", "global", "link"
SCOPES = (GLOBAL, IP, ACCOUNT)  # the order gates are checked and rows are locked in
GLOBAL_KEY = "*"
LOCAL_CLIENT = "local"  # no address: a connection from this host, or none known

IP_MAX_LOCK = dt.timedelta(hours=24)
GLOBAL_FIRST_PAUSE = dt.timedelta(seconds=2)
GLOBAL_MAX_PAUSE = dt.timedelta(minutes=1)


# --- the pure rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """When a counter locks, and for how long."""

    limit: int  # failures within the window that lock the counter
    window: dt.timedelta  # failures are counted over this long (and remembered after a lock)
    first_lock: dt.timedelta  # the first lock
    growth: int = 1  # each further failure multiplies the lock by this
    max_lock: dt.timedelta | None = None  # the longest lock (None: first_lock)


@dataclass(frozen=True)
class Counter:
    """A counter's state: failures since ``window_started_at``, and any lock."""

    failures: int = 0
    window_started_at: dt.datetime | None = None
    locked_until: dt.datetime | None = None


# Survey links that do not open (unknown or mistyped tokens) from one client address: a
# graduate who mistypes a link a few times is never held up, a client guessing tokens is
# slowed from the 10th failure in 15 minutes — a minute's wait, doubling up to an hour. A
# 256-bit token cannot be guessed anyway; this keeps guessers from loading the database.
LINK_RULE = Rule(
    limit=10,
    window=dt.timedelta(minutes=15),
    first_lock=dt.timedelta(minutes=1),
    growth=2,
    max_lock=dt.timedelta(hours=1),
)


def rules(settings: Settings) -> dict[str, Rule]:
    """The three rules the settings define, by scope."""
    minutes = dt.timedelta(minutes=settings.signin_lock_minutes)
    return {
        ACCOUNT: Rule(settings.signin_max_failures, minutes, minutes),
        IP: Rule(settings.signin_ip_max_failures, minutes, minutes, 2, IP_MAX_LOCK),
        GLOBAL: Rule(
            settings.signin_global_max_failures,
            minutes,
            GLOBAL_FIRST_PAUSE,
            2,
            GLOBAL_MAX_PAUSE,
        ),
    }


def lock_length(rule: Rule, beyond: int) -> dt.timedelta:
    """How long the lock lasts at ``beyond`` failures past the limit (0: the first lock)."""
    longest = rule.max_lock or rule.first_lock
    if rule.growth <= 1:
        return min(rule.first_lock, longest)
    # Compare exponents, not products: 2**beyond for a large ``beyond`` overflows timedelta.
    ratio = longest / rule.first_lock
    if beyond >= 64 or rule.growth**beyond >= ratio:
        return longest
    return rule.first_lock * rule.growth**beyond


def is_locked(counter: Counter, at: dt.datetime) -> bool:
    """True while ``counter`` refuses attempts."""
    return counter.locked_until is not None and at < counter.locked_until


def forgotten_at(counter: Counter, rule: Rule) -> dt.datetime | None:
    """When ``counter`` is forgotten if no failure comes first (None: nothing to forget)."""
    if counter.window_started_at is None:
        return None
    if counter.locked_until is None:
        return counter.window_started_at + rule.window
    served = lock_length(rule, max(counter.failures - rule.limit, 0))
    return counter.locked_until + max(rule.window, served)


def current(counter: Counter, rule: Rule, at: dt.datetime) -> Counter:
    """``counter`` as it stands at ``at``: empty once it has been forgotten."""
    ends = forgotten_at(counter, rule)
    if ends is None or at >= ends:
        return Counter()
    return counter


def after_failure(counter: Counter, rule: Rule, at: dt.datetime) -> Counter:
    """``counter`` once a failure at ``at`` is counted (locked when it reaches the limit)."""
    now = current(counter, rule, at)
    failures = now.failures + 1
    started = now.window_started_at or at
    if failures < rule.limit:
        return Counter(failures, started, now.locked_until)
    return Counter(failures, started, at + lock_length(rule, failures - rule.limit))


# --- keys -----------------------------------------------------------------------------------


def client_address(peer: str | None, forwarded: Sequence[str] = ()) -> str | None:
    """The client's address from the socket peer and a trusted proxy's header values.

    ``forwarded`` holds every value of the header the proxy sets (``X-Forwarded-For``, say),
    in order. The proxy appends the address it was reached from, so the right-most entry is
    the one no client can choose; loopback entries to its right are proxies on this host and
    are passed over. Entries further left were written by the client and are ignored. With no
    usable entry, the socket peer is the client.
    """
    entries = [e.strip() for value in forwarded for e in value.split(",")]
    for entry in reversed(entries):
        parsed = _parse_address(entry)
        if parsed is None:
            return peer  # a malformed right-most entry: the proxy did not write it
        if not parsed.is_loopback:
            return str(parsed)
    return peer


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = text.strip().strip('"')
    if host.startswith("["):  # "[2001:db8::1]:443"
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:  # "192.0.2.1:443"
        host = host.split(":", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def address_bucket(address: str | None) -> str:
    """What an address is counted as: IPv4 as is, IPv6 by its /64 network."""
    parsed = _parse_address(address) if address else None
    if parsed is None:
        return LOCAL_CLIENT
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


@dataclass(frozen=True)
class Keys:
    """The row keys one attempt counts on, by scope."""

    account: str
    ip: str
    scope_global: str = GLOBAL_KEY

    def of(self, scope: str) -> str:
        """The key for ``scope``."""
        return {ACCOUNT: self.account, IP: self.ip, GLOBAL: self.scope_global}[scope]


def account_key(settings: Settings, address: str) -> str:
    """The account counter's key for a normalised e-mail."""
    return labelled_hmac_hex(settings.require_secret_key(), Purpose.THROTTLE, address)


def keys_for(settings: Settings, *, address: str, client: str | None) -> Keys:
    """The keys of an attempt with normalised e-mail ``address`` from ``client``."""
    ip = labelled_hmac_hex(
        settings.require_secret_key(), Purpose.THROTTLE, f"ip:{address_bucket(client)}"
    )
    return Keys(account=account_key(settings, address), ip=ip)


# --- the store ------------------------------------------------------------------------------


def _counter(row: SigninThrottle | None) -> Counter:
    if row is None:
        return Counter()
    return Counter(row.failures, row.window_started_at, row.locked_until)


def refusing_scope(session: Session, keys: Keys, settings: Settings, at: dt.datetime) -> str | None:
    """The first scope whose counter refuses an attempt at ``at``, or None."""
    for scope in SCOPES:
        if is_locked(_counter(session.get(SigninThrottle, (scope, keys.of(scope)))), at):
            return scope
    return None


def _locked_row(session: Session, scope: str, key: str, at: dt.datetime) -> SigninThrottle:
    """The row for (scope, key), created if missing and locked until commit on PostgreSQL."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"scope": scope, "key": key, "failures": 0, "window_started_at": at}
    for _ in range(3):  # a row deleted by a concurrent prune between the two statements
        session.execute(insert(SigninThrottle).values(**values).on_conflict_do_nothing())
        row = session.execute(
            sa.select(SigninThrottle)
            .where(col(SigninThrottle.scope) == scope, col(SigninThrottle.key) == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is not None:
            return row
    raise RuntimeError("The sign-in throttle row could not be created.")


def record_failure(
    session: Session, keys: Keys, settings: Settings, at: dt.datetime
) -> dict[str, Counter]:
    """Count one failure on every scope; the counters that this failure locked, by scope.

    Rows are locked in one order (global, address, account). Call it after the unit of work's
    first audit record, whose chain lock (PostgreSQL) is then always taken before these rows.
    """
    locked: dict[str, Counter] = {}
    by_scope = rules(settings)
    for scope in SCOPES:
        row = _locked_row(session, scope, keys.of(scope), at)
        counter = after_failure(_counter(row), by_scope[scope], at)
        row.failures = counter.failures
        row.window_started_at = counter.window_started_at or at
        row.locked_until = counter.locked_until
        session.add(row)
        if counter.failures >= by_scope[scope].limit:  # every failure from the limit on locks
            locked[scope] = counter
    _prune(session, at)
    return locked


def _prune(session: Session, at: dt.datetime) -> None:
    """Delete counters that every rule has certainly forgotten (unknown e-mails pile up)."""
    # A counter is remembered at most a window (<= 1 day) or a lock (<= 1 day) after its last
    # lock or window start.
    cutoff = at - dt.timedelta(days=2)
    session.execute(
        sa.delete(SigninThrottle).where(
            sa.func.coalesce(
                col(SigninThrottle.locked_until), col(SigninThrottle.window_started_at)
            )
            < cutoff
        )
    )


def clear_account(session: Session, key: str) -> None:
    """Delete an account counter (a successful sign-in, an unlock), after an audit record."""
    session.execute(
        sa.delete(SigninThrottle).where(
            col(SigninThrottle.scope) == ACCOUNT, col(SigninThrottle.key) == key
        )
    )


# --- survey links ---------------------------------------------------------------------------


def link_key(settings: Settings, client: str | None) -> str:
    """The key of the bad-survey-link counter of ``client`` (by address bucket)."""
    return labelled_hmac_hex(
        settings.require_secret_key(), Purpose.THROTTLE, f"link:{address_bucket(client)}"
    )


def link_refused(session: Session, key: str, at: dt.datetime) -> bool:
    """True while the client with counter ``key`` must wait before opening another link."""
    return is_locked(_counter(session.get(SigninThrottle, (LINK, key))), at)


def record_link_failure(session: Session, key: str, at: dt.datetime) -> Counter:
    """Count one survey link that did not open; the counter afterwards."""
    row = _locked_row(session, LINK, key, at)
    counter = after_failure(_counter(row), LINK_RULE, at)
    row.failures = counter.failures
    row.window_started_at = counter.window_started_at or at
    row.locked_until = counter.locked_until
    session.add(row)
    _prune(session, at)
    return counter
