"""Bypass against anchored media over an impaired WAN link: per call and per media leg,
loss, one-way delay and RFC 3550 jitter (seeds 000, 002: "always important to measure").

A branch client calls the branch gateway across the default target, once bypassed and
once anchored, with the branch's WAN link at 40 ms one-way delay and 2 % loss per
direction (seeded). Prints one line per leg. Run as root:
.venv/bin/python bench/bench_wan.py [--delay-ms 40] [--loss 0.02] [--packets 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from common import default_target

from harness.evidence.policy import Impairment
from harness.scenarios.wan import measure_over_wan


async def run(args: argparse.Namespace) -> None:
    impairment = Impairment(args.delay_ms, args.loss)
    async with default_target() as (lab, target):
        results = await measure_over_wan(lab, target, Path(tempfile.mkdtemp()),
                                         impairment=impairment, packets=args.packets)
    print(f"WAN link: {impairment}; {args.packets} packets each way per call")
    for result in results:
        print(f"{result.mode.value}: final {result.call.final_status}, media path "
              f"{result.call.path.verdict.name if result.call.path else '?'}")
        for leg in result.legs:
            print("  " + leg.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--loss", type=float, default=0.02)
    parser.add_argument("--packets", type=int, default=100)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
