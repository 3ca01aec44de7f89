# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small per-account files kept between runs (Tuya's access tokens, IoT Core's device directory).

One JSON file per kind of data, holding one entry per account, keyed by a hash of the endpoint
and the access key (never the secret). The file and its directory are private to the user
(0600 / 0700), replaced atomically, and guarded between processes by a lock file. A broken,
foreign or unwritable file is never fatal: it only costs the calls the cache would have saved.
"""

import hashlib
import json
import os
import tempfile

try:
    import fcntl
except ImportError:  # not POSIX: runs still share the cache file, without the lock
    fcntl = None

# Option values that turn a cache off.
DISABLED = ('off', 'none', 'no', 'false', 'disabled')


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
        directory = os.path.dirname(self.path) or '.'
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(self.path), dir=directory)  # mkstemp creates it 0600
            try:
                with os.fdopen(fd, 'w') as handle:
                    json.dump(data, handle, sort_keys=True, separators=(',', ':'))
                os.chmod(tmp, 0o600)
                os.rename(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except (IOError, OSError):
            pass  # an unwritable cache (read-only home, full disk, a file where its directory should be) only costs calls
