# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The platform client contract: what every vendor client implements.

Vendor clients live in _platforms/, one file each, and are listed in _platforms/_registry.py;
connection options and the factory (create_client) are in _connection.py.
"""


class PlatformClient:
    """What every vendor client implements. One instance serves one module run or inventory parse."""

    platform = None
    # Who the credentials are (user name or access key, and organization), never a secret: with platform and
    # endpoint it names the account's start lock (create_client sets it).
    account = None

    def __init__(self, transport):
        self.transport = transport
        self.jobs = []

    @property
    def api_calls(self):
        return self.transport.calls

    def close(self):
        """End the session (logout) and release connections. Never raises."""
        self.transport.close()

    def list_devices(self, firmware_versions=True):
        """Every device the credentials can see, as Device objects.

        With firmware_versions=False the caller does not need current_version: a platform whose
        listing lacks it skips the extra reads (current_version is then None).
        """
        raise NotImplementedError

    def get_devices(self, ids):
        """Dict id -> Device for the ids that exist; unknown ids are simply absent."""
        raise NotImplementedError

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        """Catalog entries (released or not) relevant to `devices`, or filtered by product/hardware."""
        raise NotImplementedError

    def firmware_fits(self, firmware, device):
        """True when the vendor would accept `firmware` for `device`."""
        if firmware.product is not None and firmware.product != device.product:
            return False
        if firmware.hardware_version is not None and device.hardware_version is not None:
            return firmware.hardware_version == device.hardware_version
        return True

    def firmware_misfit(self, firmware, device):
        """Why `firmware` does not fit `device` (a sentence for the plan), or None to let the plan say it generically."""
        return None

    def last_upgrade_failed(self, device):
        """True when the vendor says the device's last upgrade failed, False when it says it did not, None when it does not say."""
        return None

    def upgrade_blocker(self, firmware, device):
        """Why the vendor would refuse to install `firmware` on `device` now (a text), or None.

        Asked at plan time for every device that would be upgraded, so that check mode and
        the real run agree; such a device is reported failed and nothing is sent for it.
        """
        return None

    def start_upgrade(self, firmware, devices, upgrade_timeout=None):
        """Ask the vendor to install `firmware` on `devices`; dict id -> StartResult.

        Sends as few requests as the vendor allows and records job ids in self.jobs.
        `upgrade_timeout`: the seconds the caller will wait (the run's wait_timeout); platforms whose
        upgrade jobs carry a server-side timeout use it, None = the vendor's default.
        """
        raise NotImplementedError

    def poll(self, devices):
        """Dict id -> Progress for devices being upgraded."""
        raise NotImplementedError
