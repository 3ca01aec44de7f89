# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Firmware version parsing and ordering, the same for every vendor.

Vendors write versions as dotted numbers ("1.5.178", "V2.0", "3.1.0-beta2"). We compare
the numeric release part numerically, ignore trailing zero parts ("1.5" == "1.5.0"), and
order a pre-release suffix before the release it precedes ("1.2.0-rc1" < "1.2.0").
"""

import re

_VERSION_RE = re.compile(r'^[vV]?(?P<release>\d+(?:\.\d+)*)(?:[-_.+~]?(?P<suffix>[0-9A-Za-z][0-9A-Za-z.\-_+]*))?$')
_SUFFIX_PART_RE = re.compile(r'\d+|[A-Za-z]+')


class Version:
    """A parsed firmware version; instances compare by release numbers, then suffix."""

    __slots__ = ('text', 'release', 'suffix', '_key')

    def __init__(self, text):
        if not isinstance(text, str):
            text = '' if text is None else str(text)
        stripped = text.strip()
        match = _VERSION_RE.match(stripped)
        if not match:
            raise ValueError(
                "'%s' is not a firmware version: expected dotted numbers such as 1.5.178 (optionally with a suffix such as 1.5.178-beta)" % text)
        release = [int(part) for part in match.group('release').split('.')]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        suffix = match.group('suffix') or ''
        self.text = stripped
        self.release = tuple(release)
        self.suffix = suffix
        # A release without suffix sorts after its pre-releases.
        suffix_key = tuple((0, int(p), '') if p.isdigit() else (1, 0, p.lower()) for p in _SUFFIX_PART_RE.findall(suffix))
        self._key = (self.release, 0 if suffix else 1, suffix_key)

    def __eq__(self, other):
        return isinstance(other, Version) and self._key == other._key

    def __ne__(self, other):
        return not self.__eq__(other)

    def __lt__(self, other):
        return self._key < other._key

    def __le__(self, other):
        return self._key <= other._key

    def __gt__(self, other):
        return self._key > other._key

    def __ge__(self, other):
        return self._key >= other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        return 'Version(%r)' % self.text

    def __str__(self):
        return self.text


def parse_version(text):
    """Return a Version, raising ValueError with a user-facing message when text is not one."""
    return Version(text)


def try_parse_version(text):
    """Return a Version, or None when text is empty or not a version (a device may report anything)."""
    try:
        return Version(text)
    except ValueError:
        return None


def same_version(left, right):
    """True when both strings parse and denote the same version; falls back to string equality."""
    left_v, right_v = try_parse_version(left), try_parse_version(right)
    if left_v is None or right_v is None:
        return (left or '').strip() == (right or '').strip()
    return left_v == right_v
