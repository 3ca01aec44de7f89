# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local, stateful HTTP emulator of the vendor firmware clouds used by fleetota.cloud tests."""

from __future__ import annotations

from .server import EmulatorServer

__all__ = ["EmulatorServer"]
