# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small per-account files kept between runs (Tuya's access tokens, IoT Core's device directory),
and the per-account start lock that keeps two runs on one controller from starting the same device.

One JSON file per kind of data, holding one entry per account, keyed by a hash of the endpoint
and the access key (never the secret). The file and its directory are private to the user
(0600 / 0700), replaced atomically, and guarded between processes by a lock file. A broken,
foreign or unwritable file is never fatal: it only costs the calls the cache would have saved.
"""

import errno
import hashlib
import json
import os
import tempfile
import time

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import FleetotaError

try:
    import fcntl
except ImportError:  # not POSIX: runs still share the cache file, without the lock
    fcntl = None

# Option values that turn a cache off.
DISABLED = ('off', 'none', 'no', 'false', 'disabled')

# The start lock's journal: the device ids sent by the last holders, so that a run re-reads only what
# another run may have started since it planned. Older records are dropped; a run that planned before
# the oldest kept record re-reads all its devices.
JOURNAL_RECORDS = 64
JOURNAL_IDS = 100000
# How long a run waits for another run's start phase: this many times the `timeout` option.
LOCK_WAIT_TIMEOUTS = 10
LOCK_POLL_FIRST = 0.05
LOCK_POLL_MAX = 0.5


def cache_path(option, filename):
    """The file a cache option names: None when the option turns the cache off; by default
    fleetota/<filename> under $XDG_CACHE_HOME, or ~/.cache."""
    if option is not None and str(option).strip().lower() in DISABLED + ('',):
        return None
    if option:
        return os.path.expanduser(str(option))
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'fleetota', filename)


class NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class FileLock:
    """flock on a 0600 lock file next to the cache; released on exit (closing the descriptor)."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        if fcntl is None:
            return self
        try:
            directory = os.path.dirname(self.path) or '.'
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (IOError, OSError):
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        return self

    def __exit__(self, *exc_info):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return False


class AccountCache:
    """One account's entry in a shared JSON cache file."""

    def __init__(self, path, endpoint, access_key):
        self.path = path
        self.key = hashlib.sha256(('%s\n%s' % (endpoint.rstrip('/'), access_key)).encode('utf-8')).hexdigest()

    def _read_all(self):
        try:
            with open(self.path, 'r') as handle:
                data = json.load(handle)
        except (IOError, OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def locked(self):
        """An exclusive lock on `<path>.lock` between processes (POSIX flock); a no-op where that is not possible."""
        return FileLock(self.path + '.lock')

    def load(self):
        """This account's entry, or None."""
        return self._read_all().get(self.key)

    def store(self, entry):
        """Replace this account's entry, keeping the other accounts'. Call it under locked()."""
        data = self._read_all()
        data[self.key] = entry
        write_json_atomically(self.path, data)  # an unwritable cache only costs calls


def write_json_atomically(path, data):
    """Write data as JSON to path, 0600, through a temporary file renamed over it, so that a reader never sees half a file.

    Returns False, having written nothing, where the folder cannot be written (read-only home, full disk, a file
    where the folder should be): the callers' files are caches and journals, whose loss only costs requests.
    """
    directory = os.path.dirname(path) or '.'
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, 'w') as handle:
                json.dump(data, handle, sort_keys=True, separators=(',', ':'))
            os.chmod(tmp, 0o600)
            os.rename(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (IOError, OSError):
        return False
    return True


class LockTimeoutError(FleetotaError):
    """Another run held the start lock longer than this run may wait for it."""


class StartLock:
    """The per-account start lock: an exclusive flock on `start-<hash>.lock` in the cache folder.

    Held around "re-read, then start" so that two runs on one controller (forks, parallel
    ansible-playbook, AWX slices on one node) never both start the same device. The file name is a
    hash of platform, endpoint and account (never a secret). The kernel releases a flock when its
    process ends, so a run that dies never leaves the lock held. Next to it, `start-<hash>.json`
    (replaced atomically, under the lock) keeps a generation number and the device ids each holder
    sent, so that a run re-reads only the devices another run may have started since it planned.

    Where the lock cannot be used (no POSIX flock, a cache folder that cannot be written) the run goes
    on without it and `warning` says why.
    """

    def __init__(self, platform, endpoint, account, wait, folder=None, clock=time.monotonic, sleep=time.sleep):
        key = hashlib.sha256(('%s\n%s\n%s' % (platform, (endpoint or '').rstrip('/'), account or '')).encode('utf-8')).hexdigest()
        if folder is None:
            folder = os.path.dirname(cache_path(None, 'start.lock'))
        self.path = os.path.join(folder, 'start-%s.lock' % key[:32])
        self.journal_path = os.path.join(folder, 'start-%s.json' % key[:32])
        self.wait = float(wait)
        self.clock = clock
        self.sleep = sleep
        self.fd = None
        self.warning = None
        self.waited = False         # another run held the lock when we asked for it

    @property
    def held(self):
        return self.fd is not None

    def generation(self):
        """The journal's generation now (read without the lock: the file is only ever replaced whole)."""
        return self._journal().get('generation', 0)

    def _journal(self):
        try:
            with open(self.journal_path, 'r') as handle:
                data = json.load(handle)
        except (IOError, OSError, ValueError):
            return {}
        if not isinstance(data, dict) or not isinstance(data.get('generation'), int) or not isinstance(data.get('records'), list):
            return {}
        return data

    def started_since(self, generation):
        """Device ids that runs holding the lock sent after `generation` was read; None when the journal cannot tell (re-read all)."""
        data = self._journal()
        current = data.get('generation', 0)
        if generation is None or current < generation:
            return None         # the journal was lost or reset since: it cannot tell
        if current == generation:
            # Nothing recorded since; but if another run held the lock while we waited, its record is missing (an unwritable
            # journal): re-read all rather than trust it.
            return None if self.waited else set()
        ids = set()
        kept = set()
        for record in data['records']:
            if not (isinstance(record, list) and len(record) == 2 and isinstance(record[0], int) and isinstance(record[1], list)):
                return None
            kept.add(record[0])
            if record[0] > generation:
                ids.update(str(value) for value in record[1])
        if any(number not in kept for number in range(generation + 1, current + 1)):
            return None         # some records were dropped: they may have held our devices
        return ids

    def record(self, device_ids):
        """Add what this holder sent to the journal (under the lock). An unwritable journal only costs re-reads later."""
        if not self.held:
            return
        data = self._journal()
        generation = data.get('generation', 0) + 1
        records = [record for record in data.get('records', []) if isinstance(record, list) and len(record) == 2]
        records.append([generation, sorted(set(str(value) for value in device_ids))])
        while len(records) > 1 and (len(records) > JOURNAL_RECORDS or sum(len(record[1]) for record in records) > JOURNAL_IDS):
            records.pop(0)
        write_json_atomically(self.journal_path, {'generation': generation, 'records': records})

    def __enter__(self):
        self.warning = None
        self.waited = False
        if fcntl is None:
            self.warning = 'no POSIX file locking on this controller: runs in parallel are not kept from starting the same device'
            return self
        try:
            folder = os.path.dirname(self.path)
            if not os.path.isdir(folder):
                os.makedirs(folder, 0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0), 0o600)
        except (IOError, OSError) as exc:
            self.warning = ('could not open the start lock file %s (%s): went on without it, so runs in parallel on this controller '
                            'are not kept from starting the same device; make its folder writable (or set XDG_CACHE_HOME)'
                            % (self.path, exc.strerror or exc))
            return self
        deadline = self.clock() + self.wait
        delay = LOCK_POLL_FIRST
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.fd = fd
                return self
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    self.warning = ('could not lock the start lock file %s (%s): went on without it, so runs in parallel on this '
                                    'controller are not kept from starting the same device' % (self.path, exc.strerror or exc))
                    return self
            self.waited = True
            remaining = deadline - self.clock()
            if remaining <= 0:
                os.close(fd)
                raise LockTimeoutError('another run on this controller held the start lock %s for more than %ss (it guards starting '
                                       'upgrades on this account); nothing was sent. Re-run once the other run has started its '
                                       'upgrades, or raise the timeout option (the lock is waited for up to %d x timeout)'
                                       % (self.path, _seconds(self.wait), LOCK_WAIT_TIMEOUTS))
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, LOCK_POLL_MAX)

    def __exit__(self, *exc_info):
        if self.fd is not None:
            os.close(self.fd)       # closing the descriptor releases the flock
            self.fd = None
        return False


def _seconds(value):
    return int(value) if float(value).is_integer() else value
