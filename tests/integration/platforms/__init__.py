# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One adapter per platform for the shared behaviour suite: what a platform is, in the terms the tests need (base.py)."""

from .enos import Enos
from .magewell import Magewell
from .tuya import Tuya
from .tuya_iotcore import TuyaIotCore

ADAPTERS = [Magewell(), Tuya(), Enos(), TuyaIotCore()]

__all__ = ['ADAPTERS', 'Enos', 'Magewell', 'Tuya', 'TuyaIotCore']
