# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make `ansible_collections.fleetota.cloud` importable when pytest runs outside ansible-test.

ansible-test installs its collection loader itself; plain pytest (scripts/test.sh) finds the
collection through ANSIBLE_COLLECTIONS_PATH or the tree this checkout sits in.
"""

import os
import pathlib
import sys

import pytest

from ansible.utils.collection_loader import AnsibleCollectionConfig

if AnsibleCollectionConfig.collection_finder is None:
    from ansible.plugins.loader import init_plugin_loader

    _HERE = pathlib.Path(__file__).resolve()
    _candidates = [pathlib.Path(p) for p in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep) if p]
    if len(_HERE.parents) > 5:
        _candidates.append(_HERE.parents[5])
    for _root in _candidates:
        if _root.joinpath('ansible_collections', 'fleetota', 'cloud', 'galaxy.yml').is_file():
            sys.path.insert(0, str(_root))
            init_plugin_loader([str(_root)])
            break

# The emulator package (tests/emulator) for tests that talk to a real HTTP server.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path, monkeypatch):
    """Each test gets its own XDG_CACHE_HOME: the clients' caches (Tuya tokens, IoT Core's device
    directory) never reach the user's ~/.cache, nor carry one test's state into the next."""
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg-cache'))
