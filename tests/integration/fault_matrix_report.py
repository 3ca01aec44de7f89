# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prints the fault matrix of test_fault_matrix.py at the end of the run: platform x fault -> outcome, upgrades applied
per device, and the totals (cases, passed, failed, devices upgraded twice).

Each case carries (platform, fault, upgrades per device) in its report's user_properties; reports reach the process
that prints the summary (the controller under pytest-xdist), so this works with and without -n.
"""

PLATFORMS = ('magewell', 'tuya', 'tuya_iotcore', 'enos')


class FaultMatrixReport:

    def __init__(self):
        self.cases = {}       # nodeid -> (platform, fault, writes)
        self.outcomes = {}    # nodeid -> pass / FAIL / xfail / xpass

    def pytest_runtest_logreport(self, report):
        case = dict(report.user_properties).get('fault_matrix')
        if case is not None:
            self.cases[report.nodeid] = tuple(case)
        if report.when == 'call' or report.outcome != 'passed':
            if hasattr(report, 'wasxfail'):
                outcome = 'xpass' if report.passed else 'xfail'
            else:
                outcome = 'pass' if report.passed else 'FAIL'
            if report.when == 'call' or report.nodeid not in self.outcomes:
                self.outcomes[report.nodeid] = outcome

    def pytest_terminal_summary(self, terminalreporter):
        if not self.cases:
            return
        rows, faults = {}, []
        for nodeid, (platform, fault, writes) in self.cases.items():
            if fault not in faults:
                faults.append(fault)
            rows.setdefault(fault, {})[platform] = '%s %s' % (self.outcomes.get(nodeid, '?'), '/'.join(str(count) for count in writes) or '-')
        write = terminalreporter.write_line
        terminalreporter.section('fault matrix: outcome, then upgrades applied per device')
        write('%-28s' % 'fault' + ''.join('%-16s' % platform for platform in PLATFORMS))
        for fault in faults:
            write('%-28s' % fault + ''.join('%-16s' % rows[fault].get(platform, '') for platform in PLATFORMS))
        outcomes = [self.outcomes.get(nodeid) for nodeid in self.cases]
        twice = sum(1 for _platform, _fault, writes in self.cases.values() for count in writes if count > 1)
        write('cases %d, passed %d, xfail %d, failed %d, devices upgraded twice %d' % (
            len(self.cases), outcomes.count('pass'), outcomes.count('xfail'), outcomes.count('FAIL'), twice))
