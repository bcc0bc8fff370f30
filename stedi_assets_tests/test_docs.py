"""The README and the docs stay true: the files they name exist, the `stedi` commands they show parse, the
benchmark verdicts agree with the report, and every setting the code reads is in the configuration table."""

import argparse
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from stedi_assets.cli import parser

REPO = Path(__file__).resolve().parents[1]
GUIDES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "benchmarks" / "README.md"]
DOCS = [*GUIDES, REPO / "CHANGELOG.md"]  # the changelog may name files that are gone: only its links are checked
FILE_TYPES = (".py", ".md", ".yaml", ".yml", ".ini", ".txt", ".json", ".toml", ".png", ".sh")
# What the repository holds: its tracked files and their folders (not what a working copy has beside them).
TRACKED = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
IN_REPO = {str(Path(*Path(file).parts[:depth])) for file in TRACKED for depth in range(1, len(Path(file).parts) + 1)}
TOP_LEVEL = {Path(file).parts[0] for file in TRACKED}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_of(text: str) -> list[str]:
    """The inline code spans and the lines of the fenced blocks."""
    blocks = FENCE.findall(text)
    prose = FENCE.sub("", text)
    return [*re.findall(r"`([^`\n]+)`", prose), *(line for block in blocks for line in block.splitlines())]


def named_paths(text: str) -> set[str]:
    """Code spans that name a repository file or folder: a path under one of the repository's top-level
    entries, or a file name of a type the repository keeps. Placeholders (`<lake>/catalog.db`), home, absolute
    and S3 paths are paths of a running lake or a machine, not of the repository."""
    paths = set()
    for span in re.findall(r"`([^`\n]+)`", FENCE.sub("", text)):
        if re.fullmatch(r"[\w.-]+(/[\w.-]+)*/?", span):
            if span.split("/")[0] in TOP_LEVEL or span.endswith(FILE_TYPES):
                paths.add(span)
    return paths


def links(text: str) -> set[str]:
    return {target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:|#", target)}


@pytest.mark.parametrize("doc", GUIDES, ids=lambda doc: str(doc.relative_to(REPO)))
def test_every_file_a_guide_names_exists(doc):
    folder = doc.parent.relative_to(REPO)
    named = named_paths(doc.read_text())
    missing = [p for p in named if p.rstrip("/") not in IN_REPO and str(folder / p).rstrip("/") not in IN_REPO]
    assert not missing, f"{doc.name} names files the repository does not hold: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(REPO)))
def test_every_link_resolves(doc):
    broken = [target for target in links(doc.read_text()) if not (doc.parent / target.split("#")[0]).exists()]
    assert not broken, f"{doc.name} links to nothing: {broken}"


def stedi_commands(text: str) -> list[list[str]]:
    """Each `stedi <command> ...` shown as code, as its words (up to a shell operator or a comment)."""
    commands = []
    for code in code_of(text):
        for segment in re.split(r"&&|\|\||;|\|", re.sub(r"\s#.*$", "", code)):
            match = re.search(r"(?:^|[\s(])stedi ([a-z][\w-]*\b.*)$", segment.strip())
            if match:
                commands.append(shlex.split(match.group(1)))
    return commands


@pytest.mark.parametrize("doc", GUIDES, ids=lambda doc: str(doc.relative_to(REPO)))
def test_every_stedi_command_shown_exists_with_its_options_and_has_help(doc, capsys):
    subcommands = next(a for a in parser()._actions if a.dest == "command").choices  # argparse keeps them here
    shown = stedi_commands(doc.read_text())
    for name, *words in shown:
        assert name in subcommands, f"{doc.name} shows `stedi {name}`, which is no command"
        command = subcommands[name]
        actions = next((a.choices for a in command._actions if isinstance(a, argparse._SubParsersAction)), None)
        if actions:  # `stedi training-set list ...`: the options are the action's
            assert words and words[0] in actions, f"{doc.name} shows `stedi {name}` without one of {list(actions)}"
            command, words = actions[words[0]], words[1:]
        options = {option for action in command._actions for option in action.option_strings}
        unknown = [word.split("=")[0] for word in words if word.startswith("--") and word.split("=")[0] not in options]
        assert not unknown, f"{doc.name}: `stedi {name}` has no {unknown}"
        with pytest.raises(SystemExit) as exit:
            parser().parse_args([name, "--help"])
        assert exit.value.code == 0 and "examples:" in capsys.readouterr().out
    if doc == REPO / "README.md":
        assert {name for name, *_ in shown} == set(subcommands), "the README shows every command"


def test_the_benchmark_verdicts_are_the_reports():
    """Every goal row of benchmarks/README.md's results is a row of the report it summarizes."""
    guide = (REPO / "benchmarks" / "README.md").read_text()
    report = (REPO / "benchmarks" / "results.md").read_text()
    verdict = re.compile(r"^\|.*\| (yes|no|\*\*no\*\*) \|$")
    goals = [line for line in guide.splitlines() if verdict.match(line)]
    assert goals, "benchmarks/README.md has a goals table"
    assert [goal for goal in goals if goal not in report.splitlines()] == []


def test_every_setting_the_code_reads_is_in_the_readmes_configuration_table():
    code = "".join(path.read_text() for path in (REPO / "stedi_assets").rglob("*.py"))
    table = (REPO / "README.md").read_text().split("## Configuration")[1]
    read = set(re.findall(r"\bSTEDI_[A-Z_]+[A-Z]\b", code))
    assert read and not [variable for variable in sorted(read) if f"`{variable}`" not in table]


def test_the_guides_point_nowhere_outside_the_repository():
    for doc in GUIDES:
        # The benchmark is given the public data by its path in the workspace.
        text = doc.read_text().replace("--starter ../shared/data/stedi-starter", "")
        assert "../shared" not in text and "shared/docs" not in text, doc.name
