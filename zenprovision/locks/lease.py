"""A lease on one document of a shared home: how a stack is locked across machines.

The document (``locks/<stack>.json``) names its holder: an id per command, user, host,
PID, command, when it was taken and when last renewed. It is created only if absent
(If-None-Match) and taken over only once released or expired, replacing exactly the version
that was read (If-Match), so of two takers one wins. A heartbeat renews it every third of
the lease, again with If-Match; a holder whose renewal finds another holder (or none) has
lost it and must stop writing: ``check`` is the fence before every shared write. Release
removes the document once it has checked that it is still this holder's.

Expiry compares the holder's clock (``renewed``) with the reader's: machines must agree on
the time to within a small part of the lease, as NTP-synced machines do.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from zenprovision.errors import InputError, LockLostError, StackLockedError, WriteConflict, ZenProvisionError
from zenprovision.homes.objects import Blob, Objects

LEASE_ENV = "ZENPROVISION_LEASE_SECONDS"
DEFAULT_SECONDS = 60.0


def lease_seconds() -> float:
    """How long a lease lasts without renewal: 60 s, or ``$ZENPROVISION_LEASE_SECONDS``."""
    text = os.environ.get(LEASE_ENV, "").strip()
    if not text:
        return DEFAULT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 1 or math.isinf(value):
        raise InputError(f"{LEASE_ENV}={text} is not a number of seconds", hint=f"use 1 or more, e.g. {LEASE_ENV}=60")
    return value


def utcnow() -> datetime:
    """The real clock (never ``$ZENPROVISION_NOW``: an injected fixed time would never expire a lease)."""
    return datetime.now(timezone.utc)


def command_line() -> str:
    """What the holder is doing, e.g. ``provision recipe local``."""
    words = [os.path.basename(a) for a in sys.argv[:3]]
    if words and words[0] in ("__main__.py", "zenprovision"):
        words[0] = "provision"
    return " ".join(words)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class Holder:
    """The content of a lease document."""

    holder: str
    user: str
    host: str
    pid: int
    command: str
    since: datetime
    renewed: datetime
    lease_seconds: float
    released: bool = False
    note: str = ""  # e.g. who force-unlocked it
    abort: str = ""  # run markers: who asked the run to stop
    extra: dict = field(default_factory=dict)

    @classmethod
    def mine(cls, seconds: float, command: str | None = None) -> Holder:
        now = utcnow()
        return cls(uuid.uuid4().hex, _user(), socket.gethostname(), os.getpid(), command or command_line(),
                   now, now, seconds)

    @property
    def expires_at(self) -> datetime:
        return self.renewed + timedelta(seconds=self.lease_seconds)

    def free(self, at: datetime) -> bool:
        return self.released or at >= self.expires_at

    def who(self) -> str:
        return f"{self.user}@{self.host} (PID {self.pid}, {self.command})"

    def describe(self, at: datetime) -> str:
        """``alice@laptop (PID 4242, provision recipe local) since ... UTC; the lease expires in 41 s``."""
        left = (self.expires_at - at).total_seconds()
        when = f"expires in {math.ceil(left)} s" if left > 0 else f"expired {math.floor(-left)} s ago"
        return f"{self.who()} since {self.since:%Y-%m-%d %H:%M:%S} UTC; the lease {when}"

    def dump(self) -> bytes:
        data = asdict(self)
        data["since"], data["renewed"] = self.since.isoformat(), self.renewed.isoformat()
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def load(cls, data: bytes) -> Holder | None:
        """The holder in a document, or None if it is not one (nobody can hold a damaged lease)."""
        try:
            raw = json.loads(data)
            raw["since"] = datetime.fromisoformat(raw["since"])
            raw["renewed"] = datetime.fromisoformat(raw["renewed"])
            return cls(**raw)
        except (ValueError, TypeError, KeyError):
            return None


def read(objects: Objects, key: str) -> tuple[Blob | None, Holder | None]:
    blob = objects.get(key)
    return blob, Holder.load(blob.data) if blob is not None else None


class Lease:
    """One holder's hold on one lease document: acquire, heartbeat, check, release."""

    def __init__(self, objects: Objects, key: str, what: str, hint: str, seconds: float | None = None,
                 command: str | None = None) -> None:
        self.objects, self.key, self.what, self.hint = objects, key, what, hint
        self.seconds = seconds or lease_seconds()
        self.record = Holder.mine(self.seconds, command)
        self.etag: str | None = None
        self.previous: Holder | None = None  # the expired holder this lease took over, if any
        self.lost = ""  # why this holder no longer holds it
        self.on_lost: Callable[[str], None] | None = None
        self._renewed = -math.inf  # time.monotonic() of the last write that succeeded; never: not 0.0,
        # which a machine up for less than a lease would read as recent
        self._mutex = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def holder_id(self) -> str:
        return self.record.holder

    def acquire(self) -> Lease:
        """Take the lease, or raise ``StackLockedError`` naming its holder; never waits."""
        for _ in range(5):
            blob, current = read(self.objects, self.key)
            if current is not None and not current.free(utcnow()):
                raise self.locked(current)
            try:
                self._write(if_none_match=blob is None, if_match=blob.etag if blob else None)
            except WriteConflict:  # another taker won this round: read again to name it
                continue
            self.previous = current if current is not None and not current.released else None
            return self
        _, current = read(self.objects, self.key)
        raise self.locked(current)

    def take_from(self, etag: str, note: str) -> Lease:
        """Take the lease from a holder believed gone (``unlock --force``), replacing exactly the
        version read: if it changed meanwhile, nothing is taken (``WriteConflict``)."""
        self.record.note = note
        self._write(if_match=etag)
        return self

    def locked(self, current: Holder | None) -> StackLockedError:
        holder = current.describe(utcnow()) if current else "another command"
        return StackLockedError(f"{self.what} is locked by {holder}", hint=self.hint)

    def adopt(self, holder_id: str) -> Lease:
        """Keep renewing the lease another process of this command took (the engine's worker)."""
        blob, current = read(self.objects, self.key)
        if blob is None or current is None or current.holder != holder_id or current.released:
            raise self._lost_error(f"it is held by {current.who()}" if current and not current.released else "it was released")
        self.record, self.etag = current, blob.etag
        age = (utcnow() - current.renewed).total_seconds()
        self._renewed = time.monotonic() - max(0.0, age)
        self.check()  # renews it: proves it is still this command's
        return self

    def _write(self, *, if_none_match: bool = False, if_match: str | None = None) -> None:
        started = time.monotonic()
        self.record.renewed = utcnow()
        self.etag = self.objects.put(self.key, self.record.dump(), if_none_match=if_none_match, if_match=if_match)
        self._renewed = started

    def renew(self) -> bool:
        """Extend the lease; False if it could not (``lost`` says when it is gone for good)."""
        with self._mutex:
            if self.lost or self.etag is None:
                return False
            try:
                return self._renew_once()
            except ZenProvisionError as exc:  # the home cannot be reached: the lease may run out
                if time.monotonic() - self._renewed >= self.seconds:
                    self._lose(f"it could not be renewed for {self.seconds:.0f} s: {exc.message}")
                return False

    def _renew_once(self) -> bool:
        for _ in range(3):
            try:
                self._write(if_match=self.etag)
                return True
            except WriteConflict:
                blob, current = read(self.objects, self.key)
                if blob is None or current is None or current.holder != self.holder_id or current.released:
                    self._lose(_taken(current, damaged=blob is not None))
                    return False
                if current.abort:
                    self._lose(f"{current.abort} asked it to stop")
                    return False
                self.etag = blob.etag  # the engine's worker, holding the same lease, renewed it first
        return False

    def _lose(self, why: str) -> None:
        self.lost = why
        self._stop.set()
        if self.on_lost is not None:
            self.on_lost(why)

    def _lost_error(self, why: str) -> LockLostError:
        return LockLostError(f"{self.what}: this command lost its lock ({why}); it stopped before writing more",
                             hint="see `provision stacks` and run the command again once the stack is free")

    def check(self) -> None:
        """The fence before a shared write: raise ``LockLostError`` unless the lease is surely ours.

        It renews first: a write that succeeds with If-Match proves nobody took the lease since
        the last one (a ``unlock --force`` does not wait for expiry), and gives the write that
        follows a whole lease of time.
        """
        with self._mutex:
            self.renew()
            if self.lost:
                raise self._lost_error(self.lost)
            if time.monotonic() - self._renewed > self.seconds * 2 / 3:
                raise self._lost_error("it could not be renewed in time")

    def start_heartbeat(self) -> Lease:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease {self.key}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            self.renew()

    def stop(self) -> None:
        """Stop renewing (the lease then expires unless released or adopted)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def release(self) -> None:
        """Remove the lease document, if it is still ours; a failure here only lets it expire.

        A lease taken by force (``note`` set) is marked released instead, so the holder it was
        taken from learns why at its next renewal.
        """
        self.stop()
        with self._mutex:
            if self.lost or self.etag is None:
                return
            try:
                self._let_go()
            except ZenProvisionError:
                pass  # unreachable home: the lease runs out by itself
            self.etag = None

    def _let_go(self) -> None:
        if self.record.note:
            self.record.released = True
            self._renew_once()
            return
        _, current = read(self.objects, self.key)  # by holder, not etag: the worker may have renewed it last
        if current is not None and current.holder == self.holder_id and not current.released:
            self.objects.delete(self.key)


def _taken(current: Holder | None, damaged: bool = False) -> str:
    if current is None:
        return "its lease document was overwritten with something unreadable" if damaged else \
            "its lease document was removed"
    if current.released:
        return f"it was released{': ' + current.note if current.note else ''}"
    return f"it was taken over by {current.who()}"
