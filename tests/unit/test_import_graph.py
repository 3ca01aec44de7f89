# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No import circle among the collection's plugin files: every import, at the top of a file or inside a
function, is an edge of the graph, and the graph has no cycle."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = 'ansible_collections.fleetota.cloud.'


def module_name(path, root):
    """Dotted name of a file under `root`, the collection root (plugins/module_utils/_client.py -> plugins.module_utils._client)."""
    parts = list(path.relative_to(root).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def imported_names(path, name):
    """What a file imports, as (module, submodules it may name): absolute, collection prefix removed, relative imports resolved."""
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - (node.level - 1)]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            found.append((module, tuple('%s.%s' % (module, alias.name) for alias in node.names)))
    return [(_short(module), tuple(_short(sub) for sub in subs)) for module, subs in found]


def _short(name):
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def import_graph(root, folder):
    """file module -> the file modules of `folder` (relative to root) it imports.

    `from package import name` is an edge to the submodule package.name where that is a file, else to the package.
    """
    files = dict((module_name(path, root), path) for path in sorted((root / folder).rglob('*.py')))
    graph = {}
    for name, path in files.items():
        targets = set()
        for module, subs in imported_names(path, name):
            submodules = [sub for sub in subs if sub in files]
            targets.update(submodules or [module])
        graph[name] = sorted(target for target in targets if target in files and target != name)
    return graph


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan), each sorted; [] when there is no cycle."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_cycles_finds_a_circle_and_only_a_circle():
    assert cycles({'a': ['b'], 'b': ['c'], 'c': ['a'], 'd': ['a']}) == [['a', 'b', 'c']]
    assert cycles({'a': ['b'], 'b': [], 'c': ['a', 'b']}) == []


def test_a_lazy_import_inside_a_function_is_an_edge(tmp_path):
    package = tmp_path / 'plugins' / 'module_utils'
    package.mkdir(parents=True)
    (package / '_base.py').write_text('def make():\n    from ansible_collections.fleetota.cloud.plugins.module_utils import _vendor\n')
    (package / '_vendor.py').write_text('from ansible_collections.fleetota.cloud.plugins.module_utils._base import make\n')
    assert cycles(import_graph(tmp_path, 'plugins')) == [['plugins.module_utils._base', 'plugins.module_utils._vendor']]


@pytest.mark.parametrize('folder', ['plugins'])
def test_no_import_cycle(folder):
    graph = import_graph(ROOT, folder)
    assert 'plugins.module_utils._engine' in graph     # the graph covers the plugin files
    assert cycles(graph) == []


def test_module_utils_import_nothing_from_plugin_utils():
    graph = import_graph(ROOT, 'plugins')
    wrong = dict((name, [target for target in targets if target.startswith('plugins.plugin_utils')])
                 for name, targets in graph.items() if name.startswith('plugins.module_utils'))
    assert dict((name, targets) for name, targets in wrong.items() if targets) == {}
