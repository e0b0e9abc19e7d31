"""``mxsim resolve``: the resolved state of a room given as a file of events."""

from __future__ import annotations

import json

import click

from mxsim.models.resolve_file import InputError, check_extremities, load_events
from mxsim.models.stateres import ALGORITHMS, StateCalculator, forward_extremities

__all__ = ["resolve", "resolve_command", "format_state"]


def format_state(rows: list[list[str]]) -> str:
    """One JSON document: a list of ``[type, state_key, event_id]``, a row per line."""
    if not rows:
        return "[]"
    return "[\n" + ",\n".join("  " + json.dumps(row) for row in rows) + "\n]"


@click.command("resolve")
@click.argument("file", type=click.Path(path_type=str))
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default="v2",
    show_default=True,
    help="State resolution: v2 (Matrix, as Synapse runs it) or depth (the proposal's time).",
)
@click.option(
    "--at",
    "at",
    multiple=True,
    metavar="EVENT_ID",
    help="Resolve the state after these events (repeatable). Default: all forward extremities.",
)
def resolve_command(file: str, algorithm: str, at: tuple[str, ...]) -> None:
    """Print the state of the room in FILE (a JSON list of events).

    Output: a JSON list of [type, state_key, event_id], sorted by type and
    state key. Exit code 2 for bad input, with one line on stderr.
    """
    try:
        events = load_events(file)
        tips = check_extremities(at, events, file) if at else forward_extremities(events)
    except InputError as err:
        click.echo(str(err), err=True)
        click.get_current_context().exit(2)
    by_id = {ev["event_id"]: ev for ev in events}
    state = StateCalculator(by_id, algorithm).state_at(tips)
    rows = sorted([etype, by_id[eid]["state_key"], eid] for (etype, _key), eid in state.items())
    click.echo(format_state(rows))


#: The command under the name the ``mxsim`` group registers it by.
resolve = resolve_command
