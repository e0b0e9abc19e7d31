"""``mxsim bench``: the runtimes' and the checker's speed."""

from __future__ import annotations

import click

from mxsim.experiments.cmd_common import _emit_json

__all__ = ["bench"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--deliveries", type=click.IntRange(min=1000), default=200_000, show_default=True)
@click.option(
    "--only",
    type=click.Choice(["engine", "rooms", "checker", "swarm", "executor"]),
    help="Run one part: the engine against bare simpy, the homeserver model, the checker "
    "(states/s, reductions, time to each seeded violation), swarm against plain random "
    "walks, or the executor (units/s on the process pool and on a Dask LocalCluster, 1 and 2 "
    "workers; swarm and executor only run when named).",
)
def bench(as_json: bool, deliveries: int, only: str | None) -> None:
    """Measure deliveries/s against bare simpy, the rooms model, and the checker."""
    from mxsim.experiments import bench as bench_mod
    from mxsim.experiments import bench_rooms

    report: dict = {}
    lines: list[str] = []
    if only in (None, "engine"):
        report["engine"] = bench_mod.run(deliveries)
        lines += bench_mod.describe(report["engine"])
    if only in (None, "rooms"):
        report["rooms"] = bench_rooms.run()
        lines += bench_rooms.describe(report["rooms"])
    if only in (None, "checker"):
        from mxsim.experiments import bench_checker

        report["checker"] = bench_checker.run()
        lines += bench_checker.describe(report["checker"])
    if only == "swarm":
        from mxsim.experiments import bench_swarm

        report["swarm"] = bench_swarm.run()
        lines += bench_swarm.describe(report["swarm"])
    if only == "executor":
        from mxsim.experiments import bench_executor

        report["executor"] = bench_executor.run()
        lines += bench_executor.describe(report["executor"])
    if as_json:
        _emit_json(report)
    else:
        for line in lines:
            click.echo(line)
