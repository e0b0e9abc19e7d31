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
