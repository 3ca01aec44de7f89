# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing and credential hashing: pure functions, one per vendor scheme, pinned by unit tests
to the vendors' published vectors. No I/O and no clock of their own: callers pass the time."""

import hashlib


def magewell_password_hash(password):
    """Magewell login sends the lowercase hex MD5 of the clear-text password (no salt).

    Published vector: md5("Admin") == "e3afed0047b08059d0fada10f400c1e5".
    """
    return hashlib.md5(password.encode('utf-8')).hexdigest()
