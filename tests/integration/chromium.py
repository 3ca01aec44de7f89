# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Headless Chromium driven over the DevTools protocol, standard library only.

Chromium's --remote-debugging-pipe speaks the protocol as NUL-terminated JSON on file
descriptors 3 (commands in) and 4 (answers and events out), so no websocket client is
needed. Enough of the protocol for the report tests: open a page, evaluate script, click,
capture a screenshot, and collect uncaught script errors.
"""

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import time

# Puts the two pipe ends on descriptors 3 and 4, where Chromium expects them, then becomes Chromium
# (a shell redirection cannot name descriptors above 9, and pytest-xdist workers have many open).
ON_3_AND_4 = '''
import os, sys
commands, answers = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))
for source, target in ((commands, 3), (answers, 4)):
    os.dup2(source, target)
    os.set_inheritable(target, True)  # dup2 onto itself keeps close-on-exec
os.execv(sys.argv[3], sys.argv[3:])
'''


def find_chromium():
    """The Chromium executable, or None (FLEETOTA_CHROMIUM names another one)."""
    explicit = os.environ.get('FLEETOTA_CHROMIUM')
    if explicit:
        return shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(AssertionError):
    pass


class Chromium:
    def __init__(self, executable, profile_dir, width=1400, height=2000, timeout=60.0):
        self.timeout = timeout
        self.width, self.height = width, height
        self.events = []
        self.errors = []
        self._next_id = 0
        self._buffer = b''
        self._session = None
        os.makedirs(str(profile_dir), exist_ok=True)
        self.log_path = os.path.join(str(profile_dir), 'chromium.log')
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        command = [executable, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
                   '--no-default-browser-check', '--hide-scrollbars', '--remote-debugging-pipe', '--user-data-dir=%s' % profile_dir,
                   '--window-size=%d,%d' % (width, height), 'about:blank']
        with open(self.log_path, 'wb') as log:
            self.proc = subprocess.Popen([sys.executable, '-c', ON_3_AND_4, str(commands_read), str(answers_write)] + command,
                                         pass_fds=(commands_read, answers_write), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        os.close(commands_read)
        os.close(answers_write)

    # -- protocol --------------------------------------------------------------------

    def _read_message(self, deadline):
        while b'\0' not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError('Chromium did not answer within %.0f s; its log: %s' % (self.timeout, self.log()))
            ready, _w, _x = select.select([self._answers], [], [], left)
            if ready:
                chunk = os.read(self._answers, 1 << 20)
                if not chunk:
                    raise BrowserError('Chromium closed the DevTools pipe; its log: %s' % self.log())
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message.decode('utf-8'))

    def _dispatch(self, message):
        if message.get('method') == 'Runtime.exceptionThrown':
            details = message['params']['exceptionDetails']
            self.errors.append(details.get('exception', {}).get('description') or details.get('text'))
        elif message.get('method') == 'Runtime.consoleAPICalled' and message['params'].get('type') == 'error':
            self.errors.append(' '.join(str(arg.get('value', arg.get('description'))) for arg in message['params']['args']))
        self.events.append(message)

    def call(self, method, params=None, session=True):
        self._next_id += 1
        message = {'id': self._next_id, 'method': method, 'params': params or {}}
        if session and self._session:
            message['sessionId'] = self._session
        data = json.dumps(message).encode('utf-8') + b'\0'
        while data:
            data = data[os.write(self._commands, data):]
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get('id') == self._next_id:
                if 'error' in answer:
                    raise BrowserError('%s failed: %s' % (method, answer['error']))
                return answer.get('result', {})
            self._dispatch(answer)

    def wait_for_event(self, method, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for index, event in enumerate(self.events):
                if event.get('method') == method:
                    return self.events.pop(index)
            self._dispatch(self._read_message(deadline))

    # -- what the tests use ----------------------------------------------------------

    def open(self, url):
        target = self.call('Target.createTarget', {'url': 'about:blank'}, session=False)['targetId']
        self._session = self.call('Target.attachToTarget', {'targetId': target, 'flatten': True}, session=False)['sessionId']
        self.call('Page.enable')
        self.call('Runtime.enable')
        self.call('Emulation.setDeviceMetricsOverride', {'width': self.width, 'height': self.height, 'deviceScaleFactor': 1, 'mobile': False})
        self.events = []
        started = time.monotonic()
        answer = self.call('Page.navigate', {'url': url})
        if answer.get('errorText'):
            raise BrowserError('could not open %s: %s' % (url, answer['errorText']))
        self.wait_for_event('Page.loadEventFired')
        return time.monotonic() - started

    def evaluate(self, expression):
        """The value of a JavaScript expression (JSON-serialisable), awaited if it is a promise."""
        answer = self.call('Runtime.evaluate', {'expression': expression, 'returnByValue': True, 'awaitPromise': True})
        if 'exceptionDetails' in answer:
            details = answer['exceptionDetails']
            raise BrowserError('script failed: %s' % (details.get('exception', {}).get('description') or details.get('text')))
        return answer['result'].get('value')

    def screenshot(self, path):
        data = self.call('Page.captureScreenshot', {'format': 'png'})['data']
        with open(str(path), 'wb') as handle:
            handle.write(base64.b64decode(data))
        return path

    def log(self):
        try:
            with open(self.log_path, 'rb') as handle:
                return handle.read()[-2000:].decode('utf-8', 'replace')
        except OSError:
            return '(no log)'

    def close(self):
        try:
            if self.proc.poll() is None:
                self._session = None
                self.call('Browser.close', session=False)
        except (BrowserError, OSError):
            pass
        finally:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
            os.close(self._commands)
            os.close(self._answers)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
