# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the intersphinx inventory of the ansible-core documentation that antsibull-docs' pages refer to.

The docs site's conf.py reads `ansible_devel.inv` next to its rst folder before it fetches the real one from
docs.ansible.com. CI has no network, so this writes one holding the labels the generated plugin pages use, each with
its page on docs.ansible.com. A label missing here fails the build (`sphinx-build -W`): add it with its page. The
targets on docs.ansible.com are not checked (no network); internal references and links are.

    python tests/docsite/ansible_core_inventory.py <docsite>/ansible_devel.inv
"""

import sys
import zlib

# (domain:role, name, page#anchor, title)
LABELS = [
    ('std:label', 'ansible_configuration_settings', 'reference_appendices/config.html#ansible-configuration-settings', 'Ansible Configuration Settings'),
    ('std:label', 'common_return_values', 'reference_appendices/common_return_values.html#common-return-values', 'Return Values'),
    ('std:label', 'action_plugins', 'plugins/action.html#action-plugins', 'Action plugins'),
    ('std:label', 'callback_plugins', 'plugins/callback.html#callback-plugins', 'Callback plugins'),
] + [
    ('std:envvar', name, 'reference_appendices/config.html#envvar-%s' % name, '-')
    for name in ('ANSIBLE_CACHE_PLUGIN', 'ANSIBLE_CACHE_PLUGIN_CONNECTION', 'ANSIBLE_CACHE_PLUGIN_PREFIX', 'ANSIBLE_CACHE_PLUGIN_TIMEOUT')
]


def inventory():
    header = b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n'
    body = ''.join('%s %s -1 %s %s\n' % (name, role, uri, title) for role, name, uri, title in LABELS)
    return header + zlib.compress(body.encode('utf-8'))


if __name__ == '__main__':
    with open(sys.argv[1], 'wb') as handle:
        handle.write(inventory())
