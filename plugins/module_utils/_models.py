# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Vendor-neutral shapes: what every platform client returns to the engine and the inventory."""

from ansible_collections.fleetota.cloud.plugins.module_utils._versions import try_parse_version


class Device:
    """One device as the platforms agree on it. `extra` holds what only its vendor needs."""

    __slots__ = ('id', 'name', 'product', 'hardware_version', 'online', 'current_version', 'upgrading', 'extra')

    def __init__(self, id, name=None, product=None, hardware_version=None, online=None, current_version=None, upgrading=False, extra=None):
        self.id = id
        self.name = name
        self.product = product
        self.hardware_version = hardware_version
        self.online = online
        self.current_version = current_version
        self.upgrading = upgrading
        self.extra = extra or {}

    def to_dict(self):
        return {
            'id': self.id,
            'name': self.name,
            'product': self.product,
            'hardware_version': self.hardware_version,
            'online': self.online,
            'current_version': self.current_version,
            'upgrading': self.upgrading,
            'extra': dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data):
        return cls(**data)


class Firmware:
    """One catalog entry. `id` is what the vendor's upgrade call takes."""

    __slots__ = ('id', 'version', 'product', 'hardware_version', 'released', 'name', 'description', 'size', 'checksum',
                 'checksum_algorithm', 'created', 'extra')

    PUBLIC_FIELDS = ('id', 'version', 'product', 'hardware_version', 'released', 'name', 'description', 'size', 'checksum',
                     'checksum_algorithm', 'created')

    def __init__(self, id, version, product=None, hardware_version=None, released=True, name=None, description=None, size=None,
                 checksum=None, checksum_algorithm=None, created=None, extra=None):
        self.id = id
        self.version = version
        self.product = product
        self.hardware_version = hardware_version
        self.released = released
        self.name = name
        self.description = description
        self.size = size
        self.checksum = checksum
        self.checksum_algorithm = checksum_algorithm
        self.created = created
        self.extra = extra or {}

    def to_dict(self):
        return dict((field, getattr(self, field)) for field in self.PUBLIC_FIELDS)

    @property
    def parsed_version(self):
        return try_parse_version(self.version)


class Progress:
    """What a poll tells about one device being upgraded.

    state: 'upgrading' (upload, install or reboot under way), 'idle' (nothing running), or
    'failed' (the vendor reports the last upgrade failed). `phase` is a short human text.

    `attempts`: how many times the vendor tried this upgrade (its own retries included), where it says; else None.
    """

    __slots__ = ('state', 'current_version', 'phase', 'msg', 'attempts')

    UPGRADING = 'upgrading'
    IDLE = 'idle'
    FAILED = 'failed'

    def __init__(self, state, current_version=None, phase=None, msg=None, attempts=None):
        self.state = state
        self.current_version = current_version
        self.phase = phase
        self.msg = msg
        self.attempts = attempts


class StartResult:
    """The vendor's answer for one device to an upgrade request."""

    __slots__ = ('status', 'msg', 'job')

    STARTED = 'started'
    IN_PROGRESS = 'in_progress'
    FAILED = 'failed'
    # The vendor refused the request for this device because it is offline (nothing was started, nothing queued).
    OFFLINE = 'offline'
    # The vendor accepted the request for an offline device and keeps it queued until the device reconnects.
    QUEUED = 'queued'
    # The request was sent but may or may not have been applied (lost, late or unreadable answer):
    # the engine re-reads the device and never sends it again.
    UNKNOWN = 'unknown'

    def __init__(self, status, msg=None, job=None):
        self.status = status
        self.msg = msg
        self.job = job


class CancelResult:
    """What canceling did (or, in check mode, would do) for one device.

    canceled: a pending upgrade (queued, pushed, awaiting confirmation) was canceled: the device will not get it.
    not_cancelable: an upgrade is under way or the vendor has no cancel; `msg` says why.
    nothing_pending: nothing was waiting for this device.
    """

    __slots__ = ('status', 'msg', 'job')

    CANCELED = 'canceled'
    NOT_CANCELABLE = 'not_cancelable'
    NOTHING_PENDING = 'nothing_pending'
    STATUSES = (CANCELED, NOT_CANCELABLE, NOTHING_PENDING)

    def __init__(self, status, msg=None, job=None):
        self.status = status
        self.msg = msg
        self.job = job

    def result(self, device_id):
        return {'id': device_id, 'status': self.status, 'msg': self.msg, 'job': self.job}


def int_or(value, default=None):
    """C(value) as an int (vendors send numbers as numbers or as strings); C(default) when it is missing or not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
