# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options' numbers: NaN and infinity are refused by name, like any other bad value."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import validate_connection
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError

BASE = {'platform': 'tuya', 'endpoint': 'https://openapi.tuyaeu.com', 'access_key': 'id', 'secret_key': 'secret'}


@pytest.mark.parametrize('option, unit', [('timeout', 'seconds'), ('rate_limit', 'requests per second')])
@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf'), 0, -1.5, True])
def test_numbers_that_are_not_positive_and_finite_are_refused(option, unit, value):
    with pytest.raises(ConfigError) as exc:
        validate_connection(dict(BASE, **{option: value}))
    assert "%s '%s' is not valid: expected a positive, finite number of %s" % (option, value, unit) in str(exc.value)


@pytest.mark.parametrize('option', ['timeout', 'rate_limit'])
def test_positive_numbers_pass(option):
    validate_connection(dict(BASE, **{option: 0.5}))
    validate_connection(dict(BASE, **{option: 30}))
