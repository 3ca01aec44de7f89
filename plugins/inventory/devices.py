# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: devices
short_description: Devices of a vendor firmware cloud as Ansible hosts
version_added: 1.0.0
description:
  - One host per device of a vendor cloud (Magewell Control Cloud, EnOS Connection Service, Tuya Cloud OpenAPI, Tuya IoT Core), named by its id
    or its name, with the device's
    product, hardware and firmware version as host variables, and a group per platform.
  - Uses a configuration file ending in C(fleetota.yml) or C(fleetota.yaml).
  - Supports C(compose), C(groups) and C(keyed_groups), and inventory caching (a cached run makes no API call).
  - Device hosts run their tasks on the controller (C(ansible_connection=local)), with the Python that runs Ansible (the group
    C(fleetota_<platform>) sets C(ansible_python_interpreter) to C({{ ansible_playbook_python }}), so modules find the C(requests)
    library of Ansible's own environment whatever C(python3) is first on C(PATH); with C(pipx), Ansible's venv is not on C(PATH)).
  - Your own C(ansible_python_interpreter) wins, from C(group_vars), C(host_vars), C(compose), play vars or extra vars.
    Set it when the Python that runs Ansible lacks C(requests) and another one has it.
author:
  - fleetota.cloud developers (@fleetota)
extends_documentation_fragment:
  - fleetota.cloud.connection
  - fleetota.cloud.connection.plugin
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it must always be V(fleetota.cloud.devices).
    type: str
    required: true
    choices: [fleetota.cloud.devices]
  hostname:
    description:
      - What to name each host. V(id) is the device id (Magewell serial number, EnOS device key, Tuya device id, IoT Core C(DeviceName)),
        unique by construction.
      - V(name) is the device name. Devices without a name keep their id; so do devices whose name another device with a
        smaller id also has, or whose name is the id of a device named by its id, with a warning naming them. Every device
        is one host, and the names do not depend on the order in which the cloud lists the devices.
    type: str
    default: id
    choices: [id, name]
  products:
    description:
      - Only devices of these products (Magewell C(product-id), EnOS C(productKey), Tuya C(product_id), IoT Core C(ProductKey)). Empty means every product.
    type: list
    elements: str
    default: []
  online_only:
    description:
      - Only devices that are online now.
    type: bool
    default: false
  firmware_versions:
    description:
      - Read each device's firmware version into C(fleetota_firmware_version).
      - V(false) leaves C(fleetota_firmware_version) unset on every host, and spares the reads the version costs where the vendor's
        device listing lacks it. On Tuya that is one request per device (at 10 requests a second, 10,000 devices took 17 minutes with
        versions and 8 seconds without, against the emulator). On Tuya IoT Core it is one C(BatchQueryDeviceDetail) call per 100 devices
        at 5 calls a second (27 seconds with versions, 7 without). On Magewell and EnOS the listing carries the version at no cost.
      - The P(fleetota.cloud.firmware_rollout#role) role and the modules read the versions they act on themselves, so an inventory for
        rollouts (an AWX inventory source synced at each launch, say) does not need them.
      - A cached inventory made without versions is never served to a configuration that asks for them.
    type: bool
    default: true
'''

EXAMPLES = r'''
# magewell.fleetota.yml: every Magewell device, grouped by product and by firmware version
plugin: fleetota.cloud.devices
platform: magewell
endpoint: https://cloud.example.com
username: Admin
# password from the FLEETOTA_PASSWORD environment variable (an AWX credential sets it)
keyed_groups:
  - key: fleetota_product
    prefix: product
  - key: fleetota_firmware_version | replace('.', '_')
    prefix: firmware
groups:
  offline: not fleetota_online

---
# online encoders of product 770 only, cached for an hour
plugin: fleetota.cloud.devices
platform: magewell
endpoint: https://cloud.example.com
username: Admin                 # password from FLEETOTA_PASSWORD
products: ["770"]
online_only: true
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/fleetota-inventory
cache_timeout: 3600

---
# enos.fleetota.yml: every device of an EnOS organization (device search, 200 per page)
plugin: fleetota.cloud.devices
platform: enos
endpoint: https://apim-ppe1.envisioniot.com
access_key: 5acb82e7-a11e-4300-9164-c8b20b638e8b
org_id: o15700000000001
# secret_key from the FLEETOTA_SECRET_KEY environment variable

---
# iotcore.fleetota.yml: every Tuya IoT Core device, grouped by ProductKey (secret from FLEETOTA_SECRET_KEY)
plugin: fleetota.cloud.devices
platform: tuya_iotcore
endpoint: https://si-0123456789abcdef.tuyacloud.com:8686
access_key: example-access-key-id
keyed_groups:
  - key: fleetota_product
    prefix: product

---
# tuya.fleetota.yml: every device of a Tuya cloud project (Central Europe data center), grouped by product
plugin: fleetota.cloud.devices
platform: tuya
endpoint: https://openapi.tuyaeu.com
access_key: your-access-id
# secret_key from the FLEETOTA_SECRET_KEY environment variable
max_concurrency: 8
keyed_groups:
  - key: fleetota_product
    prefix: product

---
# rollout.fleetota.yml: the hosts for firmware_rollout, without firmware versions: the role reads
# them itself, and a Tuya inventory without them is one request per 200 devices, not one per device
plugin: fleetota.cloud.devices
platform: tuya
endpoint: https://openapi.tuyaeu.com
access_key: your-access-id
# secret_key from the FLEETOTA_SECRET_KEY environment variable
firmware_versions: false
'''

import os

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import trust_as_template
from ansible.utils.display import Display

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import CONNECTION_OPTIONS, create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import FleetotaError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import HAS_REQUESTS

display = Display()


def host_names(devices, by_name):
    """Device id -> host name: one host per device, the same names whatever order the cloud lists the devices in.

    With by_name, a device is named by its name when it is the device with the smallest id among those
    sharing that name, and the name is no other device's id; every other device is named by its id.
    A name that is the id of a device named by its id would merge two devices into one host, so its
    device falls back to its own id too, until no name is left that is such an id.
    """
    hosts = dict((device.id, device.id) for device in devices)
    if not by_name:
        return hosts
    owner = {}
    for device in devices:
        if device.name and (device.name not in owner or device.id < owner[device.name]):
            owner[device.name] = device.id
    for device in devices:
        if device.name and owner[device.name] == device.id:
            hosts[device.id] = device.name
    changed = True
    while changed:
        by_id = set(device_id for device_id, host in hosts.items() if host == device_id)
        changed = False
        for device_id, host in hosts.items():
            if host != device_id and host in by_id:
                hosts[device_id] = device_id
                changed = True
    return hosts


def _listed(items, shown=5):
    return ', '.join(items[:shown]) + (' and %d more' % (len(items) - shown) if len(items) > shown else '')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'fleetota.cloud.devices'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('fleetota.yml', 'fleetota.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        options = dict((name, self.get_option(name)) for name in CONNECTION_OPTIONS)
        if self.get_option_and_origin('ca_path')[1] == 'env: FLEETOTA_CA_PATH' and not os.environ.get('FLEETOTA_CA_PATH'):
            # Empty means not set (AWX injects it so without a CA bundle); Ansible would resolve it to the working directory.
            options['ca_path'] = None

        firmware_versions = self.get_option('firmware_versions')
        cache_key = self.get_cache_key(path)
        if not firmware_versions:
            # Its own entry: a listing without versions must never answer a configuration that wants them.
            cache_key += '_without_firmware_versions'
        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        raw = None
        if use_cache:
            try:
                raw = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if raw is None:
            raw = self._fetch(options, firmware_versions)
        if update_cache:
            self._cache[cache_key] = raw
        # The cached payload is shared; build from copies so filters never alter it.
        self._populate(options['platform'], firmware_versions, [Device.from_dict(dict(entry, extra=dict(entry.get('extra') or {}))) for entry in raw])

    def _fetch(self, options, firmware_versions):
        if not HAS_REQUESTS:
            raise AnsibleError('the fleetota.cloud.devices inventory needs the Python library requests on the controller (pip install requests)')
        client = None
        try:
            client = create_client(options)
            for warning in client.transport.warnings:
                display.warning('fleetota.cloud.devices: %s' % warning)
            return [device.to_dict() for device in client.list_devices(firmware_versions=firmware_versions)]
        except FleetotaError as exc:
            raise AnsibleError('fleetota.cloud.devices: %s' % exc)
        finally:
            if client is not None:
                client.close()

    def _populate(self, platform, firmware_versions, devices):
        products = set(str(product) for product in self.get_option('products') or [])
        online_only = self.get_option('online_only')
        by_name = self.get_option('hostname') == 'name'
        strict = self.get_option('strict')
        platform_group = self.inventory.add_group('fleetota_%s' % platform)
        # The device hosts run their modules on the controller: with the Python that runs Ansible,
        # which has requests, not whatever python3 interpreter discovery finds (a pipx-installed
        # Ansible's venv is not on PATH). A template, resolved when a task runs, so that it holds in
        # AWX too, where the inventory sync and the job may run in different execution environments.
        # A group variable, so that any ansible_python_interpreter of the user's (group_vars,
        # host_vars, compose, play vars, extra vars) wins over it.
        self.inventory.set_variable(platform_group, 'ansible_python_interpreter', trust_as_template('{{ ansible_playbook_python }}'))
        devices = [device for device in sorted(devices, key=lambda d: d.id)
                   if (not products or device.product in products) and (not online_only or device.online)]
        hosts = host_names(devices, by_name)
        fallen = [device for device in devices if by_name and device.name and hosts[device.id] != device.name]
        if fallen:
            self.display.warning('fleetota.cloud.devices: hostname=name: %d device name(s) collide with another device\'s name or id; '
                                 'these devices are named by their id instead: %s' % (len(fallen), _listed(
                                     ['%s (name %r)' % (device.id, device.name) for device in fallen])))
        for device in devices:
            host = hosts[device.id]
            self.inventory.add_host(host, group=platform_group)
            hostvars = {
                'fleetota_platform': platform,
                'fleetota_device_id': device.id,
                'fleetota_device_name': device.name,
                'fleetota_product': device.product,
                'fleetota_hardware_version': device.hardware_version,
                'fleetota_firmware_version': device.current_version,
                'fleetota_online': device.online,
                'ansible_connection': 'local',
            }
            if not firmware_versions:
                del hostvars['fleetota_firmware_version']
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            variables = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option('compose'), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, host, strict=strict)
