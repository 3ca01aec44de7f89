# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator (tests/emulator) has no import cycle and no oversized file: core modules never import a vendor package."""

import ast
import pathlib

EMULATOR = pathlib.Path(__file__).resolve().parents[1] / 'emulator'
MAX_LINES = 400


def _module_name(path):
    parts = list(path.relative_to(EMULATOR.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def _resolve(module, is_package, level, name):
    """Absolute name of a relative import (level dots) found in module."""
    base = module.split('.')
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return '.'.join(base + ([name] if name else []))


def import_graph():
    """{module: set of emulator modules it imports}, from the source (ast), function-level imports included."""
    modules = {}
    for path in sorted(EMULATOR.rglob('*.py')):
        modules[_module_name(path)] = path
    graph = {}
    for module, path in modules.items():
        is_package = path.name == '__init__.py'
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module) if node.level else node.module
                # "from package import submodule" imports the submodule; "from module import name" the module.
                targets = ['%s.%s' % (base, alias.name) if '%s.%s' % (base, alias.name) in modules else base for alias in node.names]
            for target in targets:
                if target in modules and target != module:
                    edges.add(target)
        graph[module] = edges
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_sees_a_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_relative_imports_are_resolved():
    assert _resolve('emulator.enos.jobs', False, 2, 'fleet') == 'emulator.fleet'
    assert _resolve('emulator.enos', True, 1, 'base') == 'emulator.enos.base'
    assert _resolve('emulator.server', False, 1, None) == 'emulator'


def test_the_emulator_has_no_import_cycle():
    graph = import_graph()
    assert 'emulator.server' in graph and 'emulator.enos' in graph
    assert find_cycle(graph) is None


def test_core_modules_import_no_vendor_package():
    graph = import_graph()
    vendors = {name for name in graph if name.count('.') == 1 and (EMULATOR / name.split('.')[1]).is_dir()}
    assert vendors == {'emulator.magewell', 'emulator.enos', 'emulator.tuya', 'emulator.tuya_iotcore'}
    core = [name for name in graph if name.count('.') == 1 and name not in vendors and name != 'emulator.server']
    for name in core:
        imported_vendors = {target.split('.')[1] for target in graph[name] if target.count('.') >= 1} & {v.split('.')[1] for v in vendors}
        assert not imported_vendors, '%s imports %s' % (name, imported_vendors)


def test_no_emulator_file_is_oversized():
    sizes = {str(path.relative_to(EMULATOR)): len(path.read_text(encoding='utf-8').splitlines()) for path in EMULATOR.rglob('*.py')}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
