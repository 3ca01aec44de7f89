# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:

    # The connection options, documented once for every module and the inventory plugin.
    DOCUMENTATION = r'''
options:
  platform:
    description:
      - The vendor cloud to talk to.
      - If not set, the value of the E(FLEETOTA_PLATFORM) environment variable is used.
    type: str
    required: true
    choices: [enos, magewell, tuya, tuya_iotcore]
  endpoint:
    description:
      - Base URL of the vendor API, for example V(https://cloud.example.com) for a Magewell Control Cloud, or the EnOS API gateway
        such as V(https://apim-ppe1.envisioniot.com) for O(platform=enos), or the Tuya data center of the devices, for example
        V(https://openapi.tuyaeu.com) for O(platform=tuya) (a Tuya device answers only through its own data center).
      - For O(platform=tuya_iotcore), the instance URL from the IoT Core console, for example V(https://si-xxxxxxxx.tuyacloud.com:8686).
      - If not set, the value of the E(FLEETOTA_ENDPOINT) environment variable is used.
    type: str
    required: true
  username:
    description:
      - User name to log in with (O(platform=magewell)). Upgrades need a user with administrator rights.
      - If not set, the value of the E(FLEETOTA_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - Password of O(username) (O(platform=magewell)). Only its MD5 hash is sent, as the vendor API requires; it never appears in output.
      - If not set, the value of the E(FLEETOTA_PASSWORD) environment variable is used.
    type: str
  access_key:
    description:
      - Access key of the API credentials (Tuya Access ID, IoT Core AccessKeyId, EnOS app key), for the platforms that sign requests.
      - For O(platform=enos), the application key (C(appKey)) of an EnOS application registered in the organization; its service
        account needs the firmware and OTA permissions.
      - Required for O(platform=tuya_iotcore), with O(secret_key).
      - Required for O(platform=tuya), with O(secret_key).
      - If not set, the value of the E(FLEETOTA_ACCESS_KEY) environment variable is used.
    type: str
  secret_key:
    description:
      - The secret matching O(access_key). It never appears in output.
      - For O(platform=enos), the application secret (C(appSecret)). It is only used to compute the token request's C(encryption)
        and each call's C(apim-signature) (SHA-256); it is never sent.
      - For O(platform=tuya_iotcore), the AccessKeySecret that signs every request (HMAC-SHA1); it is never sent.
      - For O(platform=tuya), the Access Secret of the cloud project. It only keys the request signatures (HMAC-SHA256); it is never
        sent or stored.
      - If not set, the value of the E(FLEETOTA_SECRET_KEY) environment variable is used.
    type: str
  org_id:
    description:
      - Organization id, for platforms that scope every call to one (O(platform=enos), the EnOS C(orgId); required there).
      - If not set, the value of the E(FLEETOTA_ORG_ID) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of O(endpoint). Only turn this off for a lab endpoint.
      - V(false) wins over O(ca_path) and over the E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) environment variables; each
        result of a module then carries the warning C(TLS certificate verification is disabled for) O(endpoint).
      - If not set, the value of the E(FLEETOTA_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of the CA certificates to verify O(endpoint) with, instead of the default ones, or a directory of such
        certificates prepared with C(c_rehash). When it does not exist or holds no CA certificate, that is an error before
        any request is sent.
      - It wins over the E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) environment variables. Without O(ca_path) (and with
        O(validate_certs=true)), the bundle those variables name is used when one of them is set, as C(requests) does;
        otherwise the default CA bundle of C(requests) (normally the one of C(certifi)).
      - If not set, the value of the E(FLEETOTA_CA_PATH) environment variable is used. An empty value counts as not set.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request. Failed requests are retried with backoff on
        connection errors, HTTP 429 and 5xx, honouring C(Retry-After).
      - M(fleetota.cloud.firmware_upgrade) waits up to 10 times this for the account's start lock, held by another run on the same
        controller while it starts upgrades (see the notes of that module).
    type: float
    default: 30
  max_concurrency:
    description:
      - How many API requests may be in flight at once, for platforms that need one request per device (O(platform=tuya)
        reads and starts firmware per device). The per-API rate limit (O(rate_limit)) applies on top of it.
      - If not set, the value of the E(FLEETOTA_MAX_CONCURRENCY) environment variable is used.
    type: int
    default: 8
  rate_limit:
    description:
      - Requests per second the client sends to each vendor API (O(platform=tuya) limits every cloud project per API).
        The default for Tuya is 10 per second for reads and 4 per second for starting upgrades; starts never exceed 4 per second.
      - Only raise it when the vendor granted the project a higher quota; over the quota the vendor refuses requests
        (Tuya codes 1110/1199), which are retried with backoff.
      - If not set, the value of the E(FLEETOTA_RATE_LIMIT) environment variable is used.
    type: float
  token_cache:
    description:
      - Where to keep access tokens between runs (O(platform=tuya)), so that a run of many tasks asks for one token, not one per task.
        The file is created readable only by the user (mode 0600), replaced atomically, keyed by a hash of O(endpoint) and
        O(access_key), and never holds O(secret_key).
      - Default is C(fleetota/tuya-tokens.json) under E(XDG_CACHE_HOME), or C(~/.cache). V(off) disables the cache.
      - If not set, the value of the E(FLEETOTA_TOKEN_CACHE) environment variable is used.
    type: str
  device_cache:
    description:
      - Where to keep each device's C(ProductKey) between runs (O(platform=tuya_iotcore)). IoT Core reads devices per product,
        and only a listing of the whole account (50 devices a call) tells a device's product; a run that names devices the cache
        knows skips that listing. A device the cache does not know, or that is no longer found under the cached product, makes
        the run list the account again and rewrite the cache.
      - The file holds C(DeviceName) to C(ProductKey) per account, keyed by a hash of O(endpoint) and O(access_key); it is
        created readable only by the user (mode 0600), replaced atomically, and never holds O(secret_key).
      - Default is C(fleetota/tuya-iotcore-devices.json) under E(XDG_CACHE_HOME), or C(~/.cache). V(off) disables the cache.
      - If not set, the value of the E(FLEETOTA_DEVICE_CACHE) environment variable is used.
    type: str
notes:
  - Requests go from the host that runs the task, normally the controller (C(ansible_connection=local) on device hosts).
  - Use C(module_defaults) with C(group/fleetota.cloud.firmware) to set the connection options once for every module of this collection.
requirements:
  - requests
'''

    # The same options for plugins, which read environment variables through their option definitions.
    PLUGIN = r'''
options:
  platform:
    env:
      - name: FLEETOTA_PLATFORM
  endpoint:
    env:
      - name: FLEETOTA_ENDPOINT
  username:
    env:
      - name: FLEETOTA_USERNAME
  password:
    env:
      - name: FLEETOTA_PASSWORD
  access_key:
    env:
      - name: FLEETOTA_ACCESS_KEY
  secret_key:
    env:
      - name: FLEETOTA_SECRET_KEY
  org_id:
    env:
      - name: FLEETOTA_ORG_ID
  validate_certs:
    env:
      - name: FLEETOTA_VALIDATE_CERTS
  ca_path:
    env:
      - name: FLEETOTA_CA_PATH
  max_concurrency:
    env:
      - name: FLEETOTA_MAX_CONCURRENCY
  rate_limit:
    env:
      - name: FLEETOTA_RATE_LIMIT
  token_cache:
    env:
      - name: FLEETOTA_TOKEN_CACHE
  device_cache:
    env:
      - name: FLEETOTA_DEVICE_CACHE
'''
