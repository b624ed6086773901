"""The README's quickstart is what CI runs, so it always works on a fresh machine."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _quickstart():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart\n.*?```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert block, "README.md has no fenced code block under '## Quickstart'"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quickstart_is_two_commands():
    assert len(_quickstart()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _quickstart()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
    assert "pytest" in test_command


def test_demo_command_runs_the_package_demo():
    assert _quickstart()[0].endswith("python -m recfactor")


def test_readme_code_example_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    assert "puresvd__rank" in capsys.readouterr().out
