"""The benchmarks measure what they say (their speed is reported, never asserted)."""

from mxsim.experiments import bench, bench_rooms


def test_engine_and_bare_simpy_perform_the_same_deliveries():
    report = bench.run(deliveries=4000, repeat=1)
    assert report["deliveries"] == report["baseline_deliveries"] == 4000
    assert report["ratio"] > 0
    assert report["explorer"]["complete"]


def test_room_benchmark_never_forks_and_delivers_to_every_server_and_device():
    report = bench_rooms.run(repeat=1, short=5, long=50, posts=10)
    room = report["room"]
    assert room["forks"] == 0 and report["history"]["forks"] == 0
    # Each post: 19 other servers get it and ack it, 200 devices get a batch,
    # the poster gets a result: 19 + 19 + 200 + 1 deliveries, plus the
    # posting action itself.
    per_post = 19 + 19 + 200 + 1 + 1
    registrations = 200 * 2  # each device's register, and its initial sync back
    assert room["deliveries"] == room["posts"] * per_post + registrations


def test_checker_bench_reports_each_reduction_and_the_seeded_violations():
    from mxsim.experiments import bench_checker

    report = bench_checker.run(
        max_seconds=60,
        scenarios=(("action-ids", "action-ids", ()),),
        findings=(("action-ids", ("idempotent_retransmission=false",)),),
    )
    row = report["action-ids"]
    assert set(row["by_reduction"]) == set(bench_checker.reductions())
    none = row["by_reduction"]["none"]
    assert none["decided"] and none["verdict"] == "holds" and none["states"] > 100
    # every reduction keeps the verdict and explores no more worlds than none
    for r in row["by_reduction"].values():
        assert r["verdict"] == none["verdict"] and r["states"] <= none["states"]
    best = row["by_reduction"][bench_checker.reductions()[-1]]
    assert row["reduction_ratio"] == round(none["states"] / best["states"], 2)
    seeded = report["seeded"]["action-ids --set idempotent_retransmission=false"]
    assert set(seeded["bfs_seconds"]) == {"idempotent", "per_client_order", "sent_means_applied"}
    assert "checker (reductions:" in bench_checker.describe(report)[0]


def test_the_executor_bench_measures_both_backends_at_one_and_two_workers():
    from mxsim.experiments import bench_executor

    report = bench_executor.run(walks=20, experiment="fanout")
    got = {(r["backend"], r["workers"]) for r in report["rows"]}
    assert got == {("pool", 1), ("pool", 2), ("dask", 1), ("dask", 2)}
    assert all(r["walks_per_s"] > 0 and r["points_per_s"] > 0 for r in report["rows"])
    lines = bench_executor.describe(report)
    assert lines[0].startswith("executor: check action-ids --random --walks 20")
    assert sum("dask overhead at" in line for line in lines) == 2
