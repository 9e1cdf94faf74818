"""The fault tables together: every row of issue 17 has a case, every exit code is documented.

Row 14 (``policy.cooldown_s``) is a policy property, tested in ``tests/test_policy.py``
(``test_cooldown_never_suppresses_an_alarm_while_its_cause_lasts``).
"""

from __future__ import annotations

import re

from edge_monitor import errors
from tests.conftest import REPO
from tests.test_faults_inputs import CASES as INPUTS
from tests.test_faults_outputs import CASES as OUTPUTS
from tests.test_faults_processes import CASES as PROCESSES

CASES = {**INPUTS, **OUTPUTS, **PROCESSES}


def test_the_tables_do_not_share_a_name():
    assert len(CASES) == len(INPUTS) + len(OUTPUTS) + len(PROCESSES)


def test_every_row_of_the_issue_has_a_case():
    rows = {int(name.split()[0]) for name in CASES if name.split()[0].isdigit()}
    assert rows == set(range(1, 14))  # 14 is in tests/test_policy.py


def test_exit_codes_of_the_table_are_documented():
    table = (REPO / "README.md").read_text(encoding="utf-8").split("<!-- exit-codes:begin -->")[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert {c.code for c in CASES.values()} - {1} <= documented  # 1: the installer's own failure
    assert errors.ConfigLimitError.exit_code in documented
