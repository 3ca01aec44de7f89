# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The examples the collection publishes, extracted from where users read them (never copied into the tests).

- fenced ```yaml blocks of the READMEs and docs/**/*.md, and the `.. code-block:: yaml` (or yaml+jinja) directives of
  the docs site's guides, docs/docsite/rst/*.rst; the ansible-playbook / ansible-inventory lines of their shell blocks;
- the EXAMPLES of every module (one example per task) and of the inventory plugin (one per YAML document),
  read from the source with ast.

Each example knows its source and line, its shape (inventory, playbook, tasks, play keywords, fragment), and its
platform; `substitute` replaces only what a user would change (endpoint and credentials) with the emulator's.
"""

import ast
import dataclasses
import pathlib
import re
import shlex

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
PLATFORMS = ('magewell', 'enos', 'tuya_iotcore', 'tuya')  # tuya_iotcore before tuya: 'fleetota_tuya' prefixes both
CONNECTION_KEYS = ('endpoint', 'username', 'password', 'access_key', 'secret_key', 'org_id')
SECRET_ENV = {'magewell': ('FLEETOTA_PASSWORD', 'password')}  # every other platform: FLEETOTA_SECRET_KEY / secret_key
CONNECTION_MODULES = ('fleetota.cloud.firmware_info', 'fleetota.cloud.firmware_upgrade', 'fleetota.cloud.firmware_cancel')
TEMPLATE_VAR = re.compile(r'^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$')
FENCE = re.compile(r'^(\s*)```\s*([A-Za-z0-9_+-]*)\s*$')
RST_BLOCK = re.compile(r'^(\s*)\.\.\s+code(?:-block)?::\s*([A-Za-z0-9_+-]*)\s*$')
RST_YAML = ('yaml', 'yml', 'yaml+jinja')
SHELL = ('bash', 'sh', 'console', 'shell')


def markdown_sources():
    """The Markdown files whose examples users copy."""
    paths = ['README.md', 'roles/firmware_rollout/README.md', 'extensions/awx/project/README.md']
    paths += sorted(str(path.relative_to(REPO)) for path in (REPO / 'docs').glob('**/*.md'))
    return paths


def rst_sources():
    """The guides of the docs site (antsibull-docs extra docs), whose examples users copy too."""
    return sorted(str(path.relative_to(REPO)) for path in (REPO / 'docs' / 'docsite' / 'rst').glob('*.rst'))


def doc_sources():
    """Every published document with examples: the Markdown files, then the docs site's guides."""
    return markdown_sources() + rst_sources()


def module_sources():
    return sorted(str(path.relative_to(REPO)) for path in (REPO / 'plugins' / 'modules').glob('*.py') if path.name != '__init__.py')


INVENTORY_SOURCE = 'plugins/inventory/devices.py'


@dataclasses.dataclass
class Example:
    source: str          # path in the repository
    line: int            # line of the source where the example starts
    text: str            # the YAML as published
    data: object         # the YAML parsed
    index: int = None    # the task's index, for module EXAMPLES
    env: dict = None     # for a command: the variables its block exports before it

    @property
    def id(self):
        if self.index is not None:
            return '%s#%d(line %d)' % (pathlib.Path(self.source).stem, self.index, self.line)
        return '%s:%d' % (self.source, self.line)

    @property
    def shape(self):
        return shape(self.data)

    @property
    def platform(self):
        return platform_of(self.data)


def shape(data):
    if isinstance(data, list) and data and data[0] in ('ansible-playbook', 'ansible-inventory'):
        return 'command'
    if isinstance(data, dict) and data.get('plugin') == 'fleetota.cloud.devices':
        return 'inventory'
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        if all('hosts' in item or 'import_playbook' in item or 'ansible.builtin.import_playbook' in item for item in data):
            return 'playbook'
        if not any('hosts' in item for item in data):
            return 'tasks'
    if isinstance(data, dict) and set(data) <= {'module_defaults', 'vars', 'environment'} and 'module_defaults' in data:
        return 'play_keywords'
    if isinstance(data, dict) and data and all(str(key).startswith('fleetota_awx_') for key in data):
        return 'awx_setup_vars'
    return 'fragment'


def _walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _group_platform(text):
    for platform in PLATFORMS:
        if re.search(r"fleetota_%s\b" % platform, text):
            return platform
    return None


def platform_of(data, default='magewell'):
    """The platform an example speaks of: its `platform` option, else the fleetota_<platform> group it names."""
    for value in _walk(data):
        if isinstance(value, dict) and value.get('platform') in PLATFORMS:
            return value['platform']
    return _group_platform(yaml.safe_dump(data)) or default


def markdown_examples(relative):
    """Every fenced yaml block of one Markdown file."""
    examples, block, start, lang = [], None, 0, None
    for number, line in enumerate((REPO / relative).read_text().splitlines(), 1):
        match = FENCE.match(line)
        if block is None:
            if match and match.group(2):
                block, start, lang = [], number + 1, match.group(2).lower()
            elif match:
                block, start, lang = [], number + 1, ''
        elif match and not match.group(2):
            if lang in ('yaml', 'yml'):
                text = '\n'.join(block) + '\n'
                examples.append(Example(relative, start, text, yaml.safe_load(text)))
            block = None
        else:
            block.append(line)
    return examples


def rst_blocks(relative):
    """(language, first line, lines) of every `.. code-block::` directive of one reStructuredText file: its body is
    the lines indented deeper than the directive, after its options (`:caption: ...`) and the blank line."""
    blocks, lines = [], (REPO / relative).read_text().splitlines()
    number = 0
    while number < len(lines):
        match = RST_BLOCK.match(lines[number])
        number += 1
        if not match:
            continue
        indent = len(match.group(1))
        while number < len(lines) and re.match(r'^\s+:[A-Za-z-]+:', lines[number]):
            number += 1
        body, start = [], None
        while number < len(lines) and (not lines[number].strip() or len(lines[number]) - len(lines[number].lstrip()) > indent):
            if lines[number].strip() and start is None:
                start = number + 1
            if start is not None:
                body.append(lines[number])
            number += 1
        while body and not body[-1].strip():
            body.pop()
        if body:
            depth = min(len(line) - len(line.lstrip()) for line in body if line.strip())
            blocks.append((match.group(2).lower(), start, [line[depth:] for line in body]))
    return blocks


def rst_examples(relative):
    """Every yaml (or yaml+jinja) code block of one reStructuredText guide."""
    examples = []
    for lang, start, body in rst_blocks(relative):
        if lang in RST_YAML:
            text = '\n'.join(body) + '\n'
            examples.append(Example(relative, start, text, yaml.safe_load(text)))
    return examples


def doc_examples(relative):
    """The YAML examples of a published document, Markdown or reStructuredText."""
    return rst_examples(relative) if relative.endswith('.rst') else markdown_examples(relative)


def doc_command_examples(relative):
    """The ansible-playbook / ansible-inventory lines of a published document, Markdown or reStructuredText."""
    if not relative.endswith('.rst'):
        return command_examples(relative)
    examples = []
    for lang, start, body in rst_blocks(relative):
        if lang in SHELL:
            examples.extend(_commands(relative, start, body))
    return examples


def command_examples(relative):
    """Every ansible-playbook / ansible-inventory command line of the fenced bash blocks of one Markdown file (continued
    lines joined, comments dropped): data is the command's words."""
    examples, block, start, lang = [], None, 0, None
    for number, line in enumerate((REPO / relative).read_text().splitlines(), 1):
        match = FENCE.match(line)
        if block is None:
            if match:
                block, start, lang = [], number + 1, match.group(2).lower()
        elif match and not match.group(2):
            if lang in SHELL:
                examples.extend(_commands(relative, start, block))
            block = None
        else:
            block.append(line)
    return examples


def _commands(relative, start, lines):
    commands, pending, first, exported = [], '', None, {}
    for offset, line in enumerate(lines):
        if first is None:
            first = start + offset
        if line.rstrip().endswith('\\'):
            pending += line.rstrip()[:-1] + ' '
            continue
        text, pending = pending + line, ''
        words = shlex.split(text, comments=True) if text.strip() else []
        if words and words[0] == 'export':
            exported.update(word.split('=', 1) for word in words[1:] if '=' in word)
        if words and words[0] in ('ansible-playbook', 'ansible-inventory'):
            commands.append(Example(relative, first, text.strip() + '\n', words, env=dict(exported)))
        first = None
    return commands


def _examples_string(relative):
    """EXAMPLES of a plugin source, and the line its text starts on."""
    tree = ast.parse((REPO / relative).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == 'EXAMPLES' for target in node.targets):
            return node.value.value, node.value.lineno
    raise AssertionError('%s has no EXAMPLES' % relative)


def module_examples(relative):
    """One example per task of a module's EXAMPLES."""
    text, first_line = _examples_string(relative)
    node = yaml.compose(text)
    examples = []
    for index, (item, data) in enumerate(zip(node.value, yaml.safe_load(text))):
        lines = text.splitlines()[item.start_mark.line:item.end_mark.line]
        examples.append(Example(relative, first_line + item.start_mark.line, '\n'.join(lines) + '\n', data, index))
    return examples


def inventory_examples(relative=INVENTORY_SOURCE):
    """One example per YAML document of the inventory plugin's EXAMPLES."""
    text, first_line = _examples_string(relative)
    documents, current = [], []
    for number, line in enumerate(text.splitlines()):
        if re.match(r'^---\s*$', line):
            documents.append(current)
            current = []
        else:
            current.append((number, line))
    documents.append(current)
    examples = []
    for lines in documents:
        chunk = '\n'.join(line for _number, line in lines).strip('\n') + '\n'
        data = yaml.safe_load(chunk)
        if data is not None:
            first = next(number for number, line in lines if line.strip())
            examples.append(Example(relative, first_line + first, chunk, data))
    return examples


def inventory_file_name(example):
    """The file name the example gives in its comment (`# magewell.fleetota.yml: ...`), else one of the accepted form."""
    match = re.search(r'([A-Za-z0-9_.-]+\.fleetota\.ya?ml)', example.text)
    return match.group(1) if match else 'example.fleetota.yml'


def env_named(example, connection):
    """The FLEETOTA_* variables the example says a value comes from, with the user's value for each."""
    env = {}
    for name in sorted(set(re.findall(r'FLEETOTA_([A-Z_]+)', example.text))):
        key = name.lower()
        if key in connection:
            env['FLEETOTA_' + name] = str(connection[key])
    return env


def substitute(data, connections, default_platform):
    """A copy of the example with the user's endpoint and credentials: literal values replaced, `{{ var }}` values
    given as extra vars (returned). connections: platform -> {option: value}."""
    extra_vars = {}

    def visit(value, platform):
        if isinstance(value, list):
            return [visit(item, platform) for item in value]
        if not isinstance(value, dict):
            return value
        platform = value.get('platform', platform) if value.get('platform') in PLATFORMS else platform
        result = {}
        for key, item in value.items():
            if key in CONNECTION_KEYS and isinstance(item, str) and key in connections[platform]:
                match = TEMPLATE_VAR.match(item.strip())
                if match:
                    extra_vars[match.group(1)] = connections[platform][key]
                    result[key] = item
                else:
                    result[key] = connections[platform][key]
            else:
                result[key] = visit(item, platform)
        return result

    return visit(data, default_platform), extra_vars


def task_module(task):
    for key in task:
        if key.startswith(('fleetota.cloud.', 'ansible.builtin.')):
            return key
    return None


def task_segments(tasks, default_platform='magewell'):
    """Split tasks into plays the way the examples imply: a task with run_once runs over its platform's device group; a
    firmware module call without run_once runs on localhost; any other task runs where the task before it ran."""
    segments = []
    for task in tasks:
        module = task_module(task)
        args = task.get(module) if isinstance(task.get(module), dict) else {}
        platform = args.get('platform') or _group_platform(yaml.safe_dump(task))
        if task.get('run_once'):
            platform = platform or (segments[-1]['platform'] if segments else default_platform)
            hosts = 'fleetota_%s' % platform
        elif module in CONNECTION_MODULES or not segments:
            platform = platform or default_platform
            hosts = 'localhost'
        else:
            hosts, platform = segments[-1]['hosts'], segments[-1]['platform']
        if segments and (segments[-1]['hosts'], segments[-1]['platform']) == (hosts, platform):
            segments[-1]['tasks'].append(task)
        else:
            segments.append({'hosts': hosts, 'platform': platform, 'tasks': [task]})
    return segments
