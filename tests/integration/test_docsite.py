# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built docs site (scripts/test.sh docsite builds it and sets FLEETOTA_DOCSITE to its HTML folder): every internal
link and anchor resolves, and headless Chromium opens the index and a guide and finds what a reader looks for.

External links are not checked: CI has no network."""

import html.parser
import os
import pathlib
import urllib.parse

import pytest

from chromium import Chromium, find_chromium  # pylint: disable=import-error

SITE = os.environ.get('FLEETOTA_DOCSITE')
CHROMIUM = find_chromium()
GUIDES = pathlib.Path('collections/fleetota/cloud/docsite')

pytestmark = pytest.mark.skipif(not SITE, reason='the docs site is built by `scripts/test.sh docsite`, which sets FLEETOTA_DOCSITE')

if SITE and CHROMIUM is None and os.environ.get('FLEETOTA_REQUIRE_BROWSER') == '1':
    raise RuntimeError('FLEETOTA_REQUIRE_BROWSER=1 but no chromium is installed: .ci/run installs it with apt-get')


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get('id'):
            self.ids.add(attrs['id'])
        if tag == 'a' and attrs.get('href'):
            self.links.append(attrs['href'])


def parse(path):
    parser = Links()
    parser.feed(path.read_text(encoding='utf-8'))
    return parser


def test_every_internal_link_resolves():
    root = pathlib.Path(SITE)
    pages = dict((path, parse(path)) for path in root.rglob('*.html'))
    assert root / 'index.html' in pages and len(pages) > 10
    broken = []
    for page, parsed in pages.items():
        for href in parsed.links:
            url = urllib.parse.urlsplit(href)
            if url.scheme or url.netloc:
                continue  # external: not checked without network
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if not target.exists():
                broken.append('%s: %s (no such file)' % (page.relative_to(root), href))
            elif url.fragment and target.suffix == '.html' and url.fragment not in pages.get(target, parse(target)).ids:
                broken.append('%s: %s (no such anchor)' % (page.relative_to(root), href))
    assert not broken, '\n'.join(broken)


def test_every_guide_is_built_and_linked_from_the_index():
    root = pathlib.Path(SITE)
    index = (root / 'collections' / 'fleetota' / 'cloud' / 'index.html').read_text(encoding='utf-8')
    for name in ('guide_magewell', 'guide_tuya', 'guide_tuya_iotcore', 'guide_enos', 'guide_rollout', 'guide_fleet_report',
                 'guide_awx', 'guide_troubleshooting'):
        assert (root / GUIDES / (name + '.html')).exists(), name
        assert 'docsite/%s.html' % name in index, name


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (apt-get install chromium; .ci/run does it)')
def test_a_reader_opens_the_collection_index_and_a_guide(tmp_path):
    root = pathlib.Path(SITE)
    read = '''(() => ({
      title: document.title,
      headings: Array.from(document.querySelectorAll('h1, h2')).map((h) => h.textContent.replace(/\\s+/g, ' ').trim()),
      links: Array.from(document.querySelectorAll('a')).map((a) => a.textContent.trim()),
      code: Array.from(document.querySelectorAll('div.highlight pre')).map((pre) => pre.textContent),
    }))()'''
    with Chromium(CHROMIUM, tmp_path / 'profile') as browser:
        browser.open((root / 'collections' / 'fleetota' / 'cloud' / 'index.html').as_uri())
        index = browser.evaluate(read)
        browser.open((root / GUIDES / 'guide_rollout.html').as_uri())
        guide = browser.evaluate(read)
        assert browser.errors == []
    assert 'Fleetota.Cloud' in index['title'] or 'fleetota.cloud' in index['title'].lower(), index['title']
    assert 'Rolling firmware out' in index['links'] and 'Troubleshooting' in index['links'], index['links']
    assert guide['title'].startswith('Rolling firmware out'), guide['title']
    assert any(heading.startswith('The failure budget') for heading in guide['headings']), guide['headings']
    assert any('fleetota.cloud.firmware_rollout' in block for block in guide['code'])
