"""Regenerate the committed demo dataset (or any sample) with the package's generator.

python sample_data/generate.py                 # rewrites sample_data/demo
python sample_data/generate.py --students 100000 --out /tmp/city   # any options of
                                               # `xueji sample generate`
"""

from __future__ import annotations

import sys
from pathlib import Path

from xueji.cli import main

DEMO = ["--students", "5000", "--days", "40", "--seed", "7", "--county", "430104"]

if __name__ == "__main__":
    args = sys.argv[1:] or [
        *DEMO,
        "--out",
        str(Path(__file__).resolve().parent / "demo"),
        "--force",
    ]
    sys.exit(main(["sample", "generate", *args]))
