"""Check an annotator's answers file against its chunk before import: every request answered once, format right.

    python studies/annotation_reliability/check_answers.py answers/pass1/chunk_01.answers.tsv work/pass1/chunk_01.items.md
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from assess.scales import ANNOTATED, LEVEL_MAX, UG_MAX


def main(answers: Path, items: Path) -> int:
    expected = re.findall(r"^### ([0-9a-f]{64})$", items.read_text(), flags=re.M)
    seen: dict[str, int] = {}
    problems = []
    for number, line in enumerate(answers.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            problems.append(f"line {number}: {len(fields)} tab-separated fields, expected 3")
            continue
        custom_id, values, _ = fields
        numbers = values.split()
        if custom_id in seen:
            problems.append(f"line {number}: {custom_id[:12]}… already answered on line {seen[custom_id]}")
        seen[custom_id] = number
        if custom_id not in expected:
            problems.append(f"line {number}: {custom_id[:12]}… is not in {items.name}")
        if len(numbers) != len(ANNOTATED):
            problems.append(f"line {number}: {len(numbers)} values, expected {len(ANNOTATED)}")
            continue
        for code, value in zip(ANNOTATED, numbers):
            top = UG_MAX if code == "UG" else LEVEL_MAX
            if not value.isdigit() or not 0 <= int(value) <= top:
                problems.append(f"line {number}: {code}={value!r} is not an integer in 0-{top:g}")
    missing = [c for c in expected if c not in seen]
    print(f"{len(seen)} of {len(expected)} answered; {len(missing)} missing; {len(problems)} problems")
    for problem in problems[:30]:
        print(" ", problem)
    return 1 if problems or missing else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
