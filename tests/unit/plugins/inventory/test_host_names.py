# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostname: name: one host per device, whatever the names and whatever the listing order."""

import itertools

from ansible_collections.fleetota.cloud.plugins.inventory.devices import host_names
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device


def fleet(*pairs):
    return [Device(device_id, name=name) for device_id, name in pairs]


def test_a_fallback_id_another_device_took_as_its_name_does_not_merge_two_devices():
    # SN3 shares its name with SN2 and falls back to its id, which is SN1's name: SN1 falls back too.
    devices = fleet(('SN1', 'SN3'), ('SN2', 'dup'), ('SN3', 'dup'), ('SN4', None), ('SN5', 'SN5'))
    hosts = host_names(devices, by_name=True)
    assert hosts == {'SN1': 'SN1', 'SN2': 'dup', 'SN3': 'SN3', 'SN4': 'SN4', 'SN5': 'SN5'}
    assert len(set(hosts.values())) == len(devices)


def test_chains_of_collisions_end_with_distinct_hosts():
    # d shares x with c and falls back to its id, which e took as its name: e falls back. Names that are the ids of
    # devices named by their name (a is named 'b', b is named 'c') merge nothing and are kept.
    devices = fleet(('a', 'b'), ('b', 'c'), ('c', 'x'), ('d', 'x'), ('e', 'd'))
    hosts = host_names(devices, by_name=True)
    assert len(set(hosts.values())) == len(devices)
    assert hosts == {'a': 'b', 'b': 'c', 'c': 'x', 'd': 'd', 'e': 'e'}


def test_the_same_devices_in_any_order_get_the_same_hosts():
    devices = fleet(('SN1', 'SN3'), ('SN2', 'dup'), ('SN3', 'dup'), ('SN4', 'lobby'), ('SN0', 'lobby'), ('SN6', 'SN2'))
    expected = host_names(devices, by_name=True)
    assert len(set(expected.values())) == len(devices)
    for order in itertools.permutations(devices):
        assert host_names(list(order), by_name=True) == expected


def test_by_id_every_host_is_its_device_id():
    devices = fleet(('SN1', 'SN2'), ('SN2', 'SN1'))
    assert host_names(devices, by_name=False) == {'SN1': 'SN1', 'SN2': 'SN2'}
