"""Time extract_plan on a ~30,000-character plan built from the two seed plans.

    .venv/bin/python bench/bench_extraction.py [--repeat N]

The plan is the Pingdingshan plan followed by the Shijiazhuang tasks renumbered as further
sections (so every task is parsed, not deduplicated), with full-width punctuation on half of it.
The budget is 2 seconds per plan.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.extraction import UnitResolver, extract_plan  # noqa: E402

SEEDS = Path(os.environ.get("REFORM_SEEDS_DIR", ROOT.parent / "shared" / "seeds"))
CN = "一二三四五六七八九十"


def build_plan(target_chars: int = 30_000) -> str:
    first = (SEEDS / "pingdingshan-2020-plan.txt").read_text(encoding="utf-8")
    second = (SEEDS / "shijiazhuang-2020h2-tasks.txt").read_text(encoding="utf-8")
    body = second[second.index("一、坚持以人民健康为中心") : second.index("市医改办要加强统筹协调")]
    parts, n = [first], 4
    while sum(map(len, parts)) < target_chars:
        lines = []
        for line in body.split("\n"):
            line = line.strip()
            if len(line) > 1 and line[0] in CN and line[1] == "、":
                line = CN[n % 10] + line[1:]
                n += 1
            lines.append(line)
        chunk = "\n".join(lines)
        if len(parts) % 2 == 0:
            chunk = chunk.translate(str.maketrans({"(": "（", ")": "）", ",": "，"}))
        parts.append(chunk)
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    resolver = UnitResolver(json.loads((SEEDS / "unit_aliases.json").read_text(encoding="utf-8")))
    text = build_plan()
    extract_plan(text, resolver)  # warm up: OpenCC dictionaries load once per process
    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = extract_plan(text, resolver)
        timings.append(time.perf_counter() - start)
    print(f"plan: {len(text)} characters, {len(result['tasks'])} tasks")
    print(
        f"extract_plan: best {min(timings):.3f}s, worst {max(timings):.3f}s over {args.repeat} runs (budget 2s)"
    )
    start = time.perf_counter()
    import subprocess

    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, {!r})\n"
            "from tasks.extraction import extract_plan\n"
            "import time; t=time.perf_counter(); extract_plan(open({!r}, encoding='utf-8').read()); "
            "print(f'cold start (new process, incl. OpenCC load): {{time.perf_counter()-t:.3f}}s')".format(
                str(ROOT), str(SEEDS / "pingdingshan-2020-plan.txt")
            ),
        ],
        check=False,
    )


if __name__ == "__main__":
    main()
