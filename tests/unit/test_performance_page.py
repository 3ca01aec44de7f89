# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/performance.md is what tests/benchmark/performance_page.py writes from the committed result files, and the
README's headline table says the same."""

import importlib.util
import json
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _page_module():
    spec = importlib.util.spec_from_file_location('performance_page', str(REPO / 'tests' / 'benchmark' / 'performance_page.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


page = _page_module()


def test_performance_page_is_what_the_results_give():
    assert page.load_results(), 'no result file in tests/benchmark/results'
    assert (REPO / 'docs' / 'performance.md').read_text() == page.page_text(), \
        'docs/performance.md differs from the results: run python tests/benchmark/performance_page.py'


def test_every_result_names_its_commit_machine_and_command():
    for result in page.load_results():
        assert re.match(r'^[0-9a-f]{40}$', result['commit']), result['_file']
        assert set(result['machine']) >= {'cores', 'ansible_core', 'python'}, result['_file']
        assert result['command'].startswith('python tests/benchmark/rollout_benchmark.py'), result['_file']


def test_readme_headline_table_matches_the_results():
    readme = (REPO / 'README.md').read_text()
    table = [line for line in readme.splitlines() if re.match(r'^\| [a-z_]+, [0-9,]+ \|', line)]
    assert table == [page.headline_row(result) for result in page.load_results()]
    assert '(docs/performance.md)' in readme


def test_a_result_without_provenance_is_refused(tmp_path):
    (tmp_path / 'magewell-10.json').write_text(json.dumps({'platform': 'magewell', 'devices': 10, 'machine': {}, 'command': 'x'}))
    with pytest.raises(ValueError, match="magewell-10.json: no 'commit'"):
        page.load_results(tmp_path)


def test_no_doc_tells_how_it_was_measured():
    """Figures carry their commit, machine and command; the prose of the docs never tells the circumstances of a run."""
    docs = [REPO / 'README.md', REPO / 'docs' / 'performance.md'] + sorted((REPO / 'docs' / 'docsite' / 'rst').glob('*.rst'))
    for path in docs:
        text = path.read_text().lower()
        for phrase in ('this session', 'previous session', 'nice 10', 'beside the', 'alongside the'):
            assert phrase not in text, '%s says %r' % (path.relative_to(REPO), phrase)
