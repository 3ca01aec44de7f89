# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the collection's filters share: our errors become the filter errors Ansible reports."""

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError


def filter_errors(function):
    """Turn a ConfigError (bad input, named) into an AnsibleFilterError with the same message."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ConfigError as exc:
            raise AnsibleFilterError(str(exc))
    return wrapper
