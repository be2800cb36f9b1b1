"""`python -m benchmarks.gpu prepare DIR` | `python -m benchmarks.gpu run DIR [--dry-run]`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_parser = commands.add_parser(
        "prepare", help="render the CUDA combinations and download the missing wheels into DIR"
    )
    prepare_parser.add_argument("dir", type=Path)
    prepare_parser.add_argument(
        "--python",
        help="the interpreter whose torch the wheels must match, and whose pip downloads them "
        "(default: this one)",
    )
    run_parser = commands.add_parser(
        "run", help="DIR/run_gpu_check.py: install, train, test, benchmark; write the report"
    )
    run_parser.add_argument("dir", type=Path)
    args, rest = parser.parse_known_args(argv)
    if args.command == "prepare":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from benchmarks.gpu.prepare import prepare

        prepare(args.dir, args.python)
        return 0
    # The copy in DIR, as a script of its own: exactly what a GPU machine runs.
    script = args.dir / "run_gpu_check.py"
    if not script.is_file():
        parser.error(f"{script}: no such file; run `python -m benchmarks.gpu prepare {args.dir}`")
    return subprocess.run([sys.executable, str(script), str(args.dir), *rest]).returncode


if __name__ == "__main__":
    sys.exit(main())
