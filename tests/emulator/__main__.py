# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python tests/emulator [options]`` (from the repository root) or ``python -m emulator`` (from tests/)."""

from __future__ import annotations

import importlib
import os
import sys


def _run() -> int:
    package_dir = os.path.dirname(os.path.abspath(__file__))
    tests_dir = os.path.dirname(package_dir)
    # When run as a directory, sys.path[0] is the package itself: import it as a package instead.
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != package_dir]
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    server = importlib.import_module("emulator.server")
    return server.main()


if __name__ == "__main__":
    sys.exit(_run())
