# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new user's machine, for the journeys and the published examples.

What a user has and we must not rely on:
- Ansible installed the pipx way: its commands linked into a bin folder, its venv NOT on PATH, so
  interpreter discovery finds whatever python3 the system has (often one without requests);
- no ANSIBLE_* or FLEETOTA_* variables, no VIRTUAL_ENV, no ansible.cfg, a fresh HOME;
- the collection installed from a freshly built tarball into ~/.ansible/collections, not the checkout.

Commands run by the full path of the linked command, as a user's shell would find it.
"""

import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ('ansible', 'ansible-playbook', 'ansible-inventory', 'ansible-galaxy', 'ansible-doc', 'ansible-config', 'ansible-runner')


def venv_bin():
    """The folder of the Python running the tests: the venv that holds ansible-core."""
    return pathlib.Path(sys.executable).parent


def build_tarball(dest):
    """The collection as Galaxy would ship it, from the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(venv_bin() / 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dest), str(REPO)],
                   capture_output=True, text=True, check=True, env=clean_env(os.environ.get('PATH', '')))
    return next(dest.glob('fleetota-cloud-*.tar.gz'))


def clean_env(path, home=None, extra=None):
    env = dict((key, value) for key, value in os.environ.items()
               if not key.startswith(('ANSIBLE_', 'FLEETOTA_')) and key not in ('VIRTUAL_ENV', 'PYTHONPATH'))
    env['PATH'] = path
    if home is not None:
        env['HOME'] = str(home)
    env.update(extra or {})
    return env


class UserMachine:
    """One user's HOME with the collection installed, and the environment their shell would have."""

    def __init__(self, root, tarball):
        self.root = pathlib.Path(root)
        self.tarball = tarball
        self.home = self.root / 'home'
        self.bin = self.root / 'bin'
        self.home.mkdir(parents=True, exist_ok=True)
        self.bin.mkdir(exist_ok=True)
        for tool in TOOLS:
            if (venv_bin() / tool).exists():
                target = self.bin / tool
                if not target.exists():
                    target.symlink_to(venv_bin() / tool)
        venv = str(venv_bin())
        self.path = os.pathsep.join([str(self.bin)] + [part for part in os.environ.get('PATH', '').split(os.pathsep) if part and part != venv])
        self.run('ansible-galaxy', 'collection', 'install', '--force', str(tarball), check=True)

    @property
    def collections(self):
        return self.home / '.ansible' / 'collections'

    def env(self, extra=None):
        return clean_env(self.path, self.home, extra)

    def run(self, tool, *args, cwd=None, env=None, check=False, timeout=900):
        """Run one of the user's Ansible commands by its full path; returns the CompletedProcess."""
        proc = subprocess.run([str(self.bin / tool)] + [str(arg) for arg in args], capture_output=True, text=True, cwd=str(cwd or self.root),
                              env=self.env(env), timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError('%s failed (rc %d):\n%s\n%s' % (tool, proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
        return proc


def recap(stdout):
    """host -> {'ok': n, 'changed': n, 'failed': n, ...} from the last PLAY RECAP."""
    hosts = {}
    for line in stdout.split('PLAY RECAP')[-1].splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == ':':
            hosts[parts[0]] = dict((key, int(value)) for key, value in (part.split('=') for part in parts[2:]))
    return hosts


def copy_tree_from_git(relative, dest):
    """Copy the files git holds under `relative` (what a clone or an AWX project sync gets), nothing else."""
    listed = subprocess.run(['git', '-C', str(REPO), 'ls-files', '-z', '--', relative], capture_output=True, check=True).stdout
    names = [name for name in listed.decode().split('\0') if name]
    for name in names:
        target = pathlib.Path(dest) / pathlib.Path(name).relative_to(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, target)
    return names
