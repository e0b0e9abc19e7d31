"""The swarm bench's bookkeeping on one quick finding (a bench, not a timing test)."""

from mxsim.experiments import bench_swarm
from mxsim.experiments.jobs import load_scenario
from mxsim.sim.walks import Walker


def test_walks_to_the_first_violation_are_counted_from_one():
    finding = ("action-ids", ("idempotent_retransmission=false",))
    report = bench_swarm.run(seeds=2, max_walks=200, max_seconds=30, findings=(finding,))
    [props] = report["findings"].values()
    system = load_scenario(*finding).system()
    for policy in ("plain", "swarm"):
        walker = Walker(system, swarm=policy == "swarm")
        for seed, got in enumerate(props["idempotent"][policy]["walks"]):
            broke = [("idempotent" in walker.walk(seed, i)[1]) for i in range(got)]
            assert broke[-1] and not any(broke[:-1])
    assert "all findings: plain" in bench_swarm.describe(report)[-1]
