"""Releases: the version, the CHANGELOG and the tags agree; a plain `copier copy` renders the
newest release, not the newest commit; every release's copier.yml keeps the rules against the
working tree's; and a generated project's scheduled job notices a newer release.

Releases are this repository's tags, or, in a clone that holds no tags, the commits
releases.yml records for them (the CI checks out with `fetch-depth: 0`: the whole history).
How a release is cut: RELEASING.md.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from packaging.version import Version
from test_update import (
    ANSWERS,
    clone_with_working_tree,
    git,
    git_release_tags,
    recorded_releases,
    release_commits,
    release_problems,
    release_tags,
    tree,
)

from generator.questions import TEMPLATE_ROOT
from generator.wizard import newest_tag

HEADING = re.compile(r"^## (\S+) \((unreleased|\d{4}-\d{2}-\d{2})\)$", flags=re.MULTILINE)
"""A CHANGELOG entry's heading: `## 0.2.0 (2026-12-02)`, or `(unreleased)` before its tag."""
RELEASES = release_commits(TEMPLATE_ROOT)
"""Each release -> its commit: this clone's tags, or releases.yml's record where it lacks them."""
TAGS = list(RELEASES)
UPDATE_WORKFLOW = ".github/workflows/template-update.yml"


def changelog_headings() -> list[tuple[Version, str]]:
    """(version, date or 'unreleased') of each CHANGELOG.md entry, top first."""
    text = (TEMPLATE_ROOT / "CHANGELOG.md").read_text()
    return [(Version(v), when) for v, when in HEADING.findall(text)]


def declared_version() -> Version:
    pyproject = (TEMPLATE_ROOT / "pyproject.toml").read_text()
    found = re.search(r'^version = "([^"]+)"', pyproject, flags=re.MULTILINE)
    assert found, "pyproject.toml declares no version"
    return Version(found.group(1))


NO_TAGS = "this clone holds no release commit (a shallow one: `git fetch --unshallow --tags`)"


def test_there_is_a_release() -> None:
    """A shallow clone, without the release commits, cannot check releases: said as a skip,
    not as a failure of the template (CI's checkout, `fetch-depth: 0`, has them; a clone
    without tags finds them through releases.yml)."""
    if not TAGS:
        pytest.skip(NO_TAGS)
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", tag) for tag in TAGS), TAGS


def test_each_tag_names_the_commit_releases_toml_records() -> None:
    """releases.yml lists every release tag at its commit (a clone without tags tags them
    from it), and a recorded release is a PEP 440 `vX.Y.Z`. Tags this clone lacks are
    taken on trust: a clone without tags cannot contradict the record."""
    recorded = recorded_releases()
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+(rc\d+)?", tag) for tag in recorded), recorded
    for tag, commit in git_release_tags(TEMPLATE_ROOT).items():
        assert recorded.get(tag) == commit, f"releases.yml: {tag} is {commit}"


def test_the_version_the_changelog_and_the_tags_agree() -> None:
    """pyproject.toml's version is the CHANGELOG's newest heading, and never older than the
    newest tag. Equal to it only on the tagged commit itself (the release); any later
    commit declares the next version (RELEASING.md, step 6), whose entry stays
    `(unreleased)` or carries the release date until the tag is made. Every tag has a dated
    entry, and the entries run newest first."""
    headings = changelog_headings()
    versions = [version for version, _ in headings]
    assert headings, "CHANGELOG.md has no `## X.Y.Z (YYYY-MM-DD)` heading"
    assert versions == sorted(set(versions), reverse=True), "entries out of order or repeated"
    version = declared_version()
    assert versions[0] == version, f"pyproject.toml says {version}, the CHANGELOG {versions[0]}"
    dates = dict(headings)
    for tag in TAGS:
        assert Version(tag) in dates, f"{tag} has no CHANGELOG entry"
        assert dates[Version(tag)] != "unreleased", f"{tag} is released: date its entry"
    if not TAGS:
        return  # nothing to compare with (test_there_is_a_release says so)
    newest = Version(TAGS[0])
    assert version >= newest, f"pyproject.toml says {version}, older than the tag {TAGS[0]}"
    if version == newest:
        head = git(TEMPLATE_ROOT, "rev-parse", "HEAD").strip()
        assert RELEASES[TAGS[0]] == head, (
            f"HEAD is past the release {TAGS[0]} and still declares {version}: open the next "
            "version's entry and set it in pyproject.toml (RELEASING.md, step 6)"
        )


@pytest.mark.parametrize("tag", TAGS)
def test_every_release_keeps_the_rules_against_this_copier_yml(tag: str, tmp_path: Path) -> None:
    """Projects of every release update with `--defaults`: each question they record still
    exists with its type, each choice value they may hold is still offered (a removed or
    renamed value would be reset silently), and their default answers pass today's
    validators."""
    old = tmp_path / tag / "copier.yml"
    old.parent.mkdir()
    old.write_text(git(TEMPLATE_ROOT, "show", f"{RELEASES[tag]}:copier.yml"))
    assert release_problems(old, TEMPLATE_ROOT / "copier.yml") == []


@pytest.fixture(scope="module")
def template_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository with its tags, and the working tree committed on top, untagged."""
    if not TAGS:
        pytest.skip(NO_TAGS)
    return clone_with_working_tree(tmp_path_factory.mktemp("clone") / "torch-template")


def copy(src: Path, dst: Path, data: dict[str, object] | None = None, **kwargs: object) -> Path:
    copier.run_copy(
        str(src),
        str(dst),
        data={"project_name": "my-torch-project", **(data or {})},
        defaults=True,
        unsafe=False,
        quiet=True,
        settings=copier.Settings(),
        **kwargs,  # type: ignore[arg-type]
    )
    return dst


def test_copier_copy_without_vcs_ref_renders_the_newest_release(
    template_clone: Path, tmp_path: Path
) -> None:
    """Not the newest commit: the clone's HEAD (this working tree, and one more commit that
    changes the README) is ahead of the tag, and the plain copy equals a copy of the tag."""
    newest = newest_tag(str(template_clone))
    assert newest == TAGS[0] or Version(TAGS[0]).is_prerelease
    readme = template_clone / "template" / "README.md.jinja"
    unreleased = "\nA line committed after the newest release.\n"
    readme.write_text(readme.read_text() + unreleased)
    git(template_clone, "commit", "-qam", "after the release")

    plain = copy(template_clone, tmp_path / "plain")
    assert yaml.safe_load((plain / ANSWERS).read_text())["_commit"] == newest
    assert unreleased not in (plain / "README.md").read_text()
    tagged = copy(template_clone, tmp_path / "tagged", vcs_ref=newest)
    for project in (plain, tagged):
        git(project, "init", "-q")
    assert tree(plain) == tree(tagged)
    head = copy(template_clone, tmp_path / "head", vcs_ref="HEAD")
    assert unreleased in (head / "README.md").read_text()  # the line was there to render


def shell_tools(folder: Path) -> dict[str, str]:
    """An environment whose PATH finds `python` and `copier` (this interpreter's), as the
    workflow's runner has them after `pip install copier`."""
    folder.mkdir()
    for name, command in (("python", '"$@"'), ("copier", '-m copier "$@"')):
        script = folder / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" {command}\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_the_scheduled_job_reports_a_newer_release(template_clone: Path, tmp_path: Path) -> None:
    """The generated workflow runs weekly; its check passes while no release is newer than
    the project's template, and fails with a warning naming both versions once one is
    tagged. Its script runs here as the runner would run it. (The project comes from the
    working tree, ahead of every tag: the workflow may be newer than the newest release.)"""
    clone = tmp_path / "torch-template"
    shutil.copytree(template_clone, clone, symlinks=True)
    answers = {"project_name": "p", "ci": "github"}
    project = copy(clone, tmp_path / "proj", data=answers, vcs_ref="HEAD")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    workflow = yaml.safe_load((project / UPDATE_WORKFLOW).read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["schedule"][0]["cron"]
    assert "workflow_dispatch" in triggers
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    scripts = [step["run"] for step in steps if "copier check-update" in step.get("run", "")]
    assert len(scripts) == 1
    env = shell_tools(tmp_path / "bin")

    def check() -> tuple[int, str, str]:
        summary = tmp_path / "summary.md"
        summary.write_text("")
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", scripts[0]],
            cwd=project,
            env={**env, "GITHUB_STEP_SUMMARY": str(summary)},
            capture_output=True,
            text=True,
            check=False,
        )
        return result.returncode, result.stdout, summary.read_text()

    code, out, summary = check()
    assert (code, summary) == (0, ""), out
    newest = Version(release_tags(clone)[0])
    newer = f"v{newest.major}.{newest.minor + 1}.0"
    git(clone, "commit", "-q", "--allow-empty", "-m", newer)
    git(clone, "tag", newer)
    code, out, summary = check()
    assert code == 1
    assert "::warning" in out
    assert f"torch-template {newer.lstrip('v')} is out; this project is on" in summary
    assert "copier update --defaults" in summary
