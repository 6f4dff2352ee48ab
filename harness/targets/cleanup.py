"""Remove what earlier runs left behind: namespaces and processes, then Docker objects.

Only things that carry the harness's marks are touched: namespaces with the
run prefix pattern, processes recorded by PID and start time, and Docker
containers and networks labelled ``org.sbc-harness.run``.
"""

from __future__ import annotations

from harness.lab.netns import cleanup_leftovers, live_prefixes


def cleanup_everything(*, include_live: bool = False, docker: bool = True) -> list[str]:
    done = cleanup_leftovers(include_live=include_live)
    if docker:
        from harness.targets.docker_engine import cleanup_docker_leftovers

        done += cleanup_docker_leftovers(set() if include_live else live_prefixes())
    return done
