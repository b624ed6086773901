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


def test_readme_code_examples_run(capsys):
    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(examples) >= 2
    for code in examples:
        exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "puresvd__rank" in printed
    # the cold-start example prints one NDCG@10 per fold, all above zero
    fold_scores = [float(v) for v in re.findall(r"\d\.\d+", printed.splitlines()[-1])]
    assert len(fold_scores) == 5 and min(fold_scores) > 0
