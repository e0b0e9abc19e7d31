"""The executor seam without a cluster: naming a scheduler, reaching none, and the
commands that never load Dask."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import pytest

from mxsim.experiments.cli import main
from mxsim.experiments.executor import LocalPool, SchedulerError, map_ordered
from mxsim.experiments.executor import cluster as cluster_mod
from mxsim.experiments.executor.progress import UnitProgress


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["matrix", "voip-glare"],
        ["experiment", "receipts", "--quick"],
        ["check", "action-ids", "--random", "--walks", "5"],
    ],
)
def test_a_scheduler_that_cannot_be_reached_is_one_line_and_exit_2(
    capsys, monkeypatch, tmp_path, argv
):
    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.chdir(tmp_path)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    code, out, err = mxsim(capsys, *argv, "--scheduler", address)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"--scheduler {address}: expected a reachable Dask scheduler")
    assert "within 1 s" in err
    assert not list(tmp_path.iterdir())  # nothing was written


def test_the_environment_names_the_scheduler_too(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 1.0)
    address = f"127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MXSIM_SCHEDULER", address)
    code, _, err = mxsim(capsys, "matrix", "voip-glare")
    assert code == 2 and err.startswith(f"--scheduler {address}: expected a reachable")
    # A breadth-first check has nothing to distribute: the variable does not apply.
    code, out, _ = mxsim(capsys, "check", "action-ids", "--max-states", "50")
    assert code in (0, 1) and "verdict:" in out


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("local:0", "expected local:N with N a number of workers from 1"),
        ("local:two", "expected local:N"),
        ("foo:bar:baz", "expected a scheduler address tcp://HOST:PORT"),
        ("tcp://", "expected a scheduler address"),
    ],
)
def test_a_malformed_scheduler_is_bad_input(capsys, address, says):
    code, _, err = mxsim(capsys, "matrix", "voip-glare", "--scheduler", address)
    assert code == 2 and says in err and err.count("\n") == 1


def test_a_breadth_first_check_refuses_a_scheduler(capsys):
    code, _, err = mxsim(capsys, "check", "action-ids", "--scheduler", "local:2")
    assert code == 2 and "--scheduler local:2: expected --random" in err


def test_parse_address_keeps_what_dask_takes():
    parse = cluster_mod.parse_address
    assert parse("tcp://[::1]:8786") == ("tcp://[::1]:8786", None)
    assert parse("sched.example:8786") == ("sched.example:8786", None)
    assert parse("local:3") == ("local", 3)
    with pytest.raises(SchedulerError):
        parse("local:-1")


def test_commands_without_a_scheduler_never_import_distributed():
    code = (
        "import sys\n"
        "from mxsim.experiments.cli import main\n"
        "try:\n"
        "    main(['check', 'action-ids', '--random', '--walks', '5', '--workers', '2'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('distributed' in sys.modules, 'dask' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "False False", done.stderr


def test_the_pool_yields_each_unit_once_and_map_ordered_puts_them_back_in_order():
    with LocalPool(2) as pool:
        got = sorted(pool.stream(abs, iter([-3, 1, -4, 1, -5, 9, -2, 6])))
        assert got == list(enumerate([3, 1, 4, 1, 5, 9, 2, 6]))
        seen: list[int] = []
        ordered = map_ordered(abs, [-1, -2, -3], executor=pool, on_done=lambda d, t: seen.append(d))
    assert ordered == [1, 2, 3] and seen == [1, 2, 3]


def test_the_pool_reads_units_only_as_slots_free_so_a_caller_can_stop_early():
    pulled: list[int] = []

    def units():
        for u in range(1000):
            pulled.append(u)
            yield u

    with LocalPool(1) as pool:
        for i, _ in pool.stream(abs, units()):
            if i == 4:
                break
    assert pulled == [0, 1, 2, 3, 4]


def test_the_unit_progress_bar_shows_units_per_second_on_a_terminal_only():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = UnitProgress("sweep", "runs", stream)
        bar(1, 3)
        bar(3, 3)
    assert "1/3 runs" in tty.getvalue() and "runs/s" in tty.getvalue()
    assert "left" in tty.getvalue() and tty.getvalue().endswith("\n")
    assert pipe.getvalue() == ""
