"""The README's examples run as written.

Every fenced block of README.md is one of:

- a ``sh`` block: each ``mxsim`` command is run (in order, in one scratch
  directory) and its comment, a claim about what it prints, is checked;
  the quickstart's ``python3 -m venv``/``pip``/``pytest`` pieces are skipped;
- a ``toml`` block: a whole scenario is run and checked (both must hold); a
  fragment of ``[[nodes]]`` is loaded under a minimal ``[scenario]`` table;
- a plain block: the command synopsis (every command of ``mxsim`` is listed,
  with exactly the options it takes), or the output of the inline command
  that ends the paragraph before it (run, and compared line for line), the
  tree of the Layout section, or a measurement in the Benchmark section (not
  rerun: it is a timing).

Every inline ``mxsim ...`` span of the text must name a command that exists
and options it takes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from mxsim.experiments.cli import cli, main

README = Path(__file__).resolve().parents[2] / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^( *)```(\w*)\s*$")
OPTION = re.compile(r"--[a-z][a-z-]*(?:/--[a-z][a-z-]*)?")
#: Quickstart pieces that install or test, never run here.
SKIPPED_PROGRAMS = ("python3", ".venv/bin/pip", ".venv/bin/pytest")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    info: str
    body: tuple[str, ...]  # dedented by the fence's indentation
    section: str  # the last "## " heading above it
    before: str  # the last non-blank line above it


def _blocks(text: str) -> list[Block]:
    out, lines = [], text.splitlines()
    section, i = "", 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, info, start = len(m.group(1)), m.group(2), i
        before = next((x for x in reversed(lines[:i]) if x.strip()), "")
        i += 1
        body = []
        while not FENCE.match(lines[i]):
            body.append(lines[i][indent:])
            i += 1
        out.append(Block(start + 1, info, tuple(body), section, before.strip()))
        i += 1
    return out


BLOCKS = _blocks(TEXT)


def _prose(text: str) -> str:
    """The text outside fenced blocks, line breaks as spaces (inline spans may wrap)."""
    keep, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            keep.append(line)
    return " ".join(keep)


def mxsim(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The click command ``mxsim WORDS...`` names (through groups) and its path."""
    command: click.Command = cli
    path = []
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
    assert path, f"README: `mxsim {' '.join(words)}` names no mxsim command"
    return command, path


def _options(command: click.Command) -> set[str]:
    names = set()
    for p in command.params:
        if isinstance(p, click.Option):
            names.update(p.opts)
            names.update(p.secondary_opts)
    return names - {"-h", "--help"}


def _named_options(text: str) -> set[str]:
    return {o for m in OPTION.findall(text) for o in m.split("/")}


# -- sh blocks ------------------------------------------------------------------


def _claim(comment: str | None, code: int, out: str, where: str) -> None:
    """Check a command's comment against what it printed."""
    lines = out.splitlines()
    if comment is None:
        assert code in (0, 1), f"{where}: exit {code}"
        return
    claims = [c.strip() for c in comment.split(":")]
    for claim in claims:
        if claim == "holds":
            assert code == 0 and lines[-1] == "verdict: holds", f"{where}: {out[-300:]}"
        elif m := re.fullmatch(r"(\d+) violated", claim):
            violated = [x for x in lines if x.startswith("VIOLATED: ")]
            assert code == 1 and len(violated) == int(m.group(1)), f"{where}: {violated}"
        elif m := re.fullmatch(r"(\d+) shortest traces", claim):
            shortest = [x for x in lines if x.startswith("VIOLATED: ") and "shortest" in x]
            assert len(shortest) == int(m.group(1)), f"{where}: {shortest}"
            for x in shortest:
                assert Path(x.rsplit("mxsim replay ", 1)[1]).is_file(), x
        elif claim == "its trace written":
            [x] = [x for x in lines if x.startswith("VIOLATED: ")]
            path = Path(x.rsplit("mxsim replay ", 1)[1])
            assert path.read_text().startswith('{"format":"mxsim-trace/1"'), where
        elif claim == "no lasso":
            assert code == 0 and "no fair cycle" in out, f"{where}: {out[-300:]}"
        elif claim == "reproduced":
            assert code == 0 and ": reproduced " in lines[0], f"{where}: {out[:300]}"
        elif claim == "its switches and properties":
            assert code == 0 and "switches it uses" in out and "properties checked" in out
        else:
            pytest.fail(f"{where}: README comment {claim!r} is not a claim this test checks")


def _commands(block: Block) -> list[tuple[list[str], str | None, str]]:
    """(mxsim arguments, comment, where) for each mxsim command of a sh block."""
    found = []
    for n, line in enumerate(block.body, block.line + 1):
        if not line.strip():
            continue
        m = re.search(r"\s{2,}#\s(.*)$", line)
        comment = m.group(1) if m else None
        words = shlex.split(line, comments=True)
        pieces: list[list[str]] = [[]]
        for w in words:
            if w == "&&":
                pieces.append([])
            else:
                pieces[-1].append(w)
        for piece in pieces:
            if piece[0] in SKIPPED_PROGRAMS:
                continue
            assert Path(piece[0]).name == "mxsim", f"README.md:{n}: {piece[0]} is not mxsim"
            found.append((piece[1:], comment, f"README.md:{n}"))
    return found


SH = [b for b in BLOCKS if b.info == "sh"]


@pytest.mark.parametrize("block", SH, ids=[f"line{b.line}" for b in SH])
def test_every_sh_block_runs_and_prints_what_its_comments_say(capsys, block):
    commands = _commands(block)
    assert commands, f"README.md:{block.line}: a sh block without an mxsim command"
    for argv, comment, where in commands:
        code, out, err = mxsim(capsys, argv)
        assert code in (0, 1), f"{where}: mxsim {' '.join(argv)}: exit {code}: {err}"
        _claim(comment, code, out, where)


# -- toml blocks ----------------------------------------------------------------

TOML = [b for b in BLOCKS if b.info == "toml"]


@pytest.mark.parametrize("block", TOML, ids=[f"line{b.line}" for b in TOML])
def test_every_toml_example_loads_and_a_whole_scenario_runs_and_holds(capsys, block):
    text = "\n".join(block.body) + "\n"
    if "[scenario]" in text:
        Path("example.toml").write_text(text)
        for command in ("run", "check"):
            code, out, err = mxsim(capsys, [command, "example.toml"])
            assert code == 0, f"README.md:{block.line}: mxsim {command}: {err or out}"
            assert out.splitlines()[-1] == "verdict: holds"
        return
    # A fragment of nodes: under a minimal scenario it must pass every config check.
    head = '[scenario]\nname = "fragment"\ndescription = "README"\nmodel = "matrix"\n'
    Path("fragment.toml").write_text(head + text)
    code, out, err = mxsim(capsys, ["describe", "fragment.toml"])
    assert code == 0, f"README.md:{block.line}: {err}"
    for name in re.findall(r'^name = "([^"]+)"', text, re.M):
        assert re.search(rf"^  {re.escape(name)} ", out, re.M), name


def test_the_readme_has_both_kinds_of_toml_example():
    whole = [b for b in TOML if any(x.startswith("[scenario]") for x in b.body)]
    assert len(whole) == 1 and len(TOML) >= 2


# -- plain blocks ---------------------------------------------------------------

PLAIN = [b for b in BLOCKS if b.info == ""]


def _synopsis(block: Block) -> dict[tuple[str, ...], str]:
    """Command path -> the text of its synopsis (continuation lines joined)."""
    entries: dict[tuple[str, ...], str] = {}
    last = None
    for line in block.body:
        if line.startswith("mxsim "):
            _, path = _command(line.split()[1:3])
            last = tuple(path)
            entries[last] = line
        else:
            entries[last] += " " + line.strip()
    return entries


def test_the_synopsis_lists_every_command_with_exactly_its_options():
    [block] = [b for b in PLAIN if b.body and b.body[0].startswith("mxsim ")]
    entries = _synopsis(block)
    commands = set()
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            commands.update((name, sub) for sub in command.commands)
        else:
            commands.add((name,))
    assert set(entries) == commands
    for path, text in entries.items():
        command, _ = _command(list(path))
        assert _named_options(text) == _options(command), f"mxsim {' '.join(path)}"


def test_an_output_block_is_what_its_command_prints(capsys):
    outputs = [b for b in PLAIN if re.search(r"`mxsim [^`]+`:$", b.before)]
    assert outputs
    for block in outputs:
        argv = shlex.split(re.search(r"`mxsim ([^`]+)`:$", block.before).group(1))
        code, out, _ = mxsim(capsys, argv)
        assert code in (0, 1)
        assert out.splitlines() == list(block.body), f"README.md:{block.line}"


def test_every_other_plain_block_is_a_measurement_of_the_benchmark():
    rest = [
        b
        for b in PLAIN
        if not (b.body and b.body[0].startswith("mxsim "))
        and not re.search(r"`mxsim [^`]+`:$", b.before)
        and b.section not in ("Layout",)
    ]
    assert [b.section for b in rest] == ["Benchmark"]


# -- inline commands --------------------------------------------------------------


def test_every_inline_mxsim_command_names_a_command_and_options_it_takes():
    spans = re.findall(r"`(mxsim [^`]+)`", _prose(TEXT))
    assert len(spans) > 5
    for span in spans:
        words = span.split()[1:]
        command, path = _command(words)
        unknown = _named_options(span) - _options(command)
        assert not unknown, f"README: `{span}`: mxsim {' '.join(path)} takes no {unknown}"
