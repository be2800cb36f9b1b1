"""Updating generated projects: the release rules, and `copier update` between tagged releases.

`release_problems(old, new)` checks any pair of copier.yml files against the rules a release
must keep so that `copier update --defaults` works on every project of the previous one.
The update tests run on committed, tagged copies of this repository (a project rendered
from a dirty HEAD records a commit that does not exist and can never be updated), always
with `unsafe=False` and an empty `copier.Settings()`.

The generated projects' own tests (of an updated project after its conflict is resolved,
and of projects with a feature turned on and off again) need torch and take a while: they
run only with TORCH_TEMPLATE_UPDATE_PROJECT_TESTS=1 and torch importable. `nox -s update`
(part of the default `nox`) runs them but the toggles of single features (noxfile.py,
UPDATE_OWN_TESTS; `nox -s update -- -k own_tests` runs those too): the rest runs in `nox -s tests`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from packaging.version import InvalidVersion, Version

from generator.questions import TEMPLATE_ROOT, load_questions, resolve
from generator.wizard import HOW_TO_RESOLVE, conflicted_files, main, release_of

ANSWERS = ".copier-answers.yml"
UNSAFE_SETTINGS = ("_tasks", "_migrations", "_jinja_extensions")
"""Each makes `copy` and `update` refuse without `--trust`."""
RUN_PROJECT_TESTS = os.environ.get("TORCH_TEMPLATE_UPDATE_PROJECT_TESTS") == "1"
GIT_IDENTITY = {
    f"GIT_{role}_{key}": value
    for role in ("AUTHOR", "COMMITTER")
    for key, value in (("NAME", "Test"), ("EMAIL", "test@example.com"))
}

DEFAULTS = resolve({})[0]
PKG = f"src/{DEFAULTS['package_name']}"
DEFAULT_FEATURES: list[str] = DEFAULTS["features"]
FEATURE_ORDER: list[str] = load_questions()["features"].values


# --- The release rules, on any pair of copier.yml files -----------------------------------------


def _choice_values(spec: dict[str, Any]) -> list[Any]:
    choices = spec.get("choices") or []
    values = choices.values() if isinstance(choices, dict) else choices
    return [v["value"] if isinstance(v, dict) and "value" in v else v for v in values]


def release_problems(old: Path, new: Path) -> list[str]:
    """What in copier.yml `new` breaks `copier update --defaults` for projects of copier.yml `old`.

    Both files must be named copier.yml (their folders are read as template roots). Rules:
    no setting that needs `--trust`; `_min_copier_version` set; the answers file keeps its
    name; every question has a default; a recorded question (one without `when: false`) is
    never removed and keeps its type and multiselect; no choice value is removed or renamed
    (labels may change); the previous release's default answers still pass every validator
    of the new one, new questions' defaults included.
    """
    assert old.name == new.name == "copier.yml", (old, new)
    before, after = yaml.safe_load(old.read_text()), yaml.safe_load(new.read_text())
    problems = [f"{key} needs --trust" for key in UNSAFE_SETTINGS if key in after]
    if not after.get("_min_copier_version"):
        problems.append("_min_copier_version is not set")
    if before.get("_answers_file") != after.get("_answers_file"):
        problems.append("_answers_file changed: projects would need -a FILE on every update")
    questions = {k: v for k, v in after.items() if not k.startswith("_")}
    for name, spec in questions.items():
        if spec.get("default") is None:
            problems.append(f"{name}: no default (`copier update --defaults` would stop on it)")
    for name, spec in before.items():
        if name.startswith("_") or spec.get("when") is False:
            continue
        if name not in questions:
            problems.append(f"{name}: removed or renamed (projects record it)")
            continue
        for key in ("type", "multiselect"):
            if spec.get(key) != questions[name].get(key):
                problems.append(f"{name}: {key} changed from {spec.get(key)!r}")
        gone = [v for v in _choice_values(spec) if v not in _choice_values(questions[name])]
        if gone:
            problems.append(f"{name}: choice values removed or renamed: {gone}")
    recorded = {k: v for k, v in resolve({}, old.parent)[0].items() if k in questions}
    for name, message in resolve(recorded, new.parent)[1].items():
        problems.append(f"{name}: the previous defaults fail: {message}")
    return problems


def write_copier_yml(folder: Path, raw: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "copier.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path


def current() -> dict[str, Any]:
    return yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())


def test_this_copier_yml_keeps_the_rules_against_itself() -> None:
    path = TEMPLATE_ROOT / "copier.yml"
    assert release_problems(path, path) == []


def test_this_copier_yml_needs_no_trust() -> None:
    assert not set(UNSAFE_SETTINGS) & set(current())
    assert Version(current()["_min_copier_version"]) >= Version("9.4.0")


def _remove_feature(raw: dict[str, Any]) -> None:
    choices = raw["features"]["choices"]
    del choices[next(label for label, value in choices.items() if value == "profiling")]


def _rename_feature(raw: dict[str, Any]) -> None:
    choices = raw["features"]["choices"]
    label = next(label for label, value in choices.items() if value == "profiling")
    choices[label] = "profiler"


def _add_required(raw: dict[str, Any]) -> None:
    raw["seed"] = {"type": "int", "help": "Seed"}


def _add_refusing_default(raw: dict[str, Any]) -> None:
    raw["seed"] = {
        "type": "int",
        "default": 0,
        "validator": "{% if seed < 1 %}seed must be positive{% endif %}",
    }


def _refuse_old_default(raw: dict[str, Any]) -> None:
    raw["task"]["validator"] = "{% if task == 'classification' %}not any more{% endif %}"


def _retype(raw: dict[str, Any]) -> None:
    raw["pre_commit"]["type"] = "str"
    raw["pre_commit"]["default"] = "yes"


def _add_tasks(raw: dict[str, Any]) -> None:
    raw["_tasks"] = ["echo hi"]


def _drop_min_version(raw: dict[str, Any]) -> None:
    del raw["_min_copier_version"]


def _rename_answers_file(raw: dict[str, Any]) -> None:
    raw["_answers_file"] = ".template-answers.yml"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_remove_feature, "features: choice values removed or renamed: ['profiling']"),
        (_rename_feature, "features: choice values removed or renamed: ['profiling']"),
        (lambda raw: raw.pop("ci"), "ci: removed or renamed"),
        (_add_required, "seed: no default"),
        (_add_refusing_default, "seed: the previous defaults fail: seed must be positive"),
        (_refuse_old_default, "task: the previous defaults fail: not any more"),
        (_retype, "pre_commit: type changed from 'bool'"),
        (_add_tasks, "_tasks needs --trust"),
        (_drop_min_version, "_min_copier_version is not set"),
        (_rename_answers_file, "_answers_file changed"),
    ],
)
def test_the_rules_catch_each_breaking_change(tmp_path: Path, change: Any, problem: str) -> None:
    old = write_copier_yml(tmp_path / "old", current())
    raw = current()
    change(raw)
    new = write_copier_yml(tmp_path / "new", raw)
    problems = release_problems(old, new)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_the_rules_allow_additions(tmp_path: Path) -> None:
    """A new question with a default, a new choice value, new labels, a removed computed value."""
    old_raw = current()
    old_raw["legacy_slug"] = {"type": "str", "default": "{{ project_name }}", "when": False}
    old = write_copier_yml(tmp_path / "old", old_raw)
    raw = current()
    raw["seed"] = {"type": "int", "help": "Seed", "default": 0}
    raw["features"]["choices"]["wandb: Weights & Biases logging"] = "wandb"
    raw["task"]["choices"] = {f"Predict a {v}": v for v in raw["task"]["choices"].values()}
    new = write_copier_yml(tmp_path / "new", raw)
    assert release_problems(old, new) == []


RELEASE_RECORD = TEMPLATE_ROOT / "releases.yml"
"""Each release tag and its commit, for clones that hold no tags."""


def recorded_releases() -> dict[str, str]:
    """releases.yml: each release tag -> the commit it names."""
    return {
        str(tag): str(commit) for tag, commit in yaml.safe_load(RELEASE_RECORD.read_text()).items()
    }


def git_release_tags(repo: Path) -> dict[str, str]:
    """The release tags `repo` holds (PEP 440, `v` prefix allowed) -> their commits."""
    found = {}
    for tag in git(repo, "tag", "--list").split():
        try:
            Version(tag)
        except InvalidVersion:
            continue
        found[tag] = git(repo, "rev-parse", f"{tag}^{{commit}}").strip()
    return found


def has_commit(repo: Path, commit: str) -> bool:
    probe = ["git", "cat-file", "-e", f"{commit}^{{commit}}"]
    return subprocess.run(probe, cwd=repo, capture_output=True, check=False).returncode == 0


def release_commits(repo: Path) -> dict[str, str]:
    """Each release of `repo` -> its commit, newest first: the release tags it holds, and
    the releases releases.yml records whose commit it holds (a clone need not have fetched
    the tags; a shallow one lacks the commits too)."""
    found = git_release_tags(repo)
    for tag, commit in recorded_releases().items():
        if tag not in found and has_commit(repo, commit):
            found[tag] = commit
    return dict(sorted(found.items(), key=lambda item: Version(item[0]), reverse=True))


def release_tags(repo: Path) -> list[str]:
    """The releases of `repo`, newest first (release_commits)."""
    return list(release_commits(repo))


def tag_the_recorded_releases(clone: Path) -> None:
    """Tags, in `clone`, the recorded releases it holds the commits of but not the tags."""
    present = git_release_tags(clone)
    for tag, commit in release_commits(clone).items():
        if tag not in present:
            git(clone, "tag", tag, commit)


# --- Tagged copies of this repository ------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_IDENTITY},
    ).stdout


def working_tree_files() -> list[str]:
    """This repository's files as they are now: committed or not, but not git-ignored."""
    names = git(TEMPLATE_ROOT, "ls-files", "--cached", "--others", "--exclude-standard")
    # A file deleted but not yet committed is listed and absent.
    return [name for name in names.splitlines() if (TEMPLATE_ROOT / name).is_file()]


def clone_with_working_tree(dst: Path) -> Path:
    """A clone of this repository, its release tags included, with one commit on top that
    holds the working tree as it is (uncommitted changes, new and deleted files).

    Copier renders a release from the clone's tags and the working tree from its HEAD: a
    project rendered from a dirty HEAD records a commit that does not exist.
    """
    subprocess.run(["git", "clone", "-q", str(TEMPLATE_ROOT), str(dst)], check=True)
    tag_the_recorded_releases(dst)
    for name in git(dst, "ls-files").splitlines():
        (dst / name).unlink(missing_ok=True)
    for name in working_tree_files():
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_ROOT / name, dst / name)
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "--allow-empty", "-m", "the working tree")
    git(dst, "gc", "-q")  # one pack: Copier clones the template twice per update
    return dst


CONFIG = "template/src/{{ package_name }}/config.py.jinja"
MODEL = "template/src/{{ package_name }}/{% if input_type == 'tabular' %}model.py{% endif %}.jinja"
LR_LINE = "    lr: float = 3e-3\n"
V2_LR_LINE = "    lr: float = 2e-3\n"
USER_LR_LINE = "    lr: float = 1e-3\n"
MODEL_FIRST_LINE = '"""The network: a plain nn.Module.'
V2_MODEL_FIRST_LINE = '"""The network (v0.2.0): a plain nn.Module.'
README_LINE = "## Updating from the template\n"
V2_README_LINE = "## Updating from the template (v0.2.0)\n"
V2_QUESTION = "\nseed:\n  type: int\n  help: Default random seed\n  default: 0\n"
V2_CHANGES = {
    CONFIG: (LR_LINE, V2_LR_LINE),
    MODEL: (MODEL_FIRST_LINE, V2_MODEL_FIRST_LINE),
    "template/README.md.jinja": (README_LINE, V2_README_LINE),
}
"""What the second release changes: a config line the user changes too, a model line and a
README line the user leaves alone; it also adds a question with a default."""


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this working tree tagged v0.1.0, then a change tagged v0.2.0."""
    repo = tmp_path_factory.mktemp("releases") / "torch-template"
    for name in working_tree_files():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_ROOT / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "0.1.0")
    git(repo, "tag", "v0.1.0")
    (repo / "previous").mkdir()
    shutil.copy(repo / "copier.yml", repo / "previous" / "copier.yml")
    for name, (old, new) in V2_CHANGES.items():
        text = (repo / name).read_text()
        assert text.count(old) == 1, (name, old)
        (repo / name).write_text(text.replace(old, new))
    with (repo / "copier.yml").open("a") as file:
        file.write(V2_QUESTION)
    assert release_problems(repo / "previous" / "copier.yml", repo / "copier.yml") == []
    shutil.rmtree(repo / "previous")
    git(repo, "commit", "-qam", "0.2.0")
    git(repo, "tag", "v0.2.0")
    git(repo, "gc", "-q")  # one pack: Copier clones the template twice per update
    return repo


def copy_project(src: Path, dst: Path, vcs_ref: str, data: dict[str, Any] | None = None) -> Path:
    """Render a release of the template at `src` into `dst`, as its own committed git repository.

    Named my-torch-project, as the tests expect, whatever `dst`'s name (project_name's default).
    """
    copier.run_copy(
        str(src),
        str(dst),
        data={"project_name": "my-torch-project", **(data or {})},
        vcs_ref=vcs_ref,
        defaults=True,
        unsafe=False,
        quiet=True,
        settings=copier.Settings(),
    )
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "generated")
    return dst


def update(project: Path, **kwargs: Any) -> None:
    copier.run_update(
        str(project),
        defaults=True,
        overwrite=True,
        unsafe=False,
        quiet=True,
        settings=copier.Settings(),
        **kwargs,
    )


def tree(project: Path, ignored: bool = False) -> dict[str, bytes]:
    """Every file of the project outside .git, by relative path (git-ignored ones only if asked)."""
    files = {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }
    if ignored:
        return files
    names = git(project, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    return {name: files[name] for name in names if name in files}


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


USER_FUNCTION = '\n\ndef count_parameters(model: nn.Module) -> int:\n    """Mine."""\n    return sum(p.numel() for p in model.parameters())\n'
USER_TEST = "def test_mine() -> None:\n    assert 1 + 1 == 2\n"


def make_user_edits(project: Path, lr_line: str) -> None:
    """A function added to the model file, a new test file and a new default lr.

    The lr changes in config.py (where it reads `lr_line`) and in the README's config
    table, as `<project> config --write-readme` rewrites it: the project's own tests fail
    until the README's table matches the dataclasses.
    """
    with (project / PKG / "model.py").open("a") as file:
        file.write(USER_FUNCTION)
    (project / "tests" / "test_mine.py").write_text(USER_TEST)
    edit(project / PKG / "config.py", lr_line, USER_LR_LINE)
    value = lr_line.split("=")[1].strip()
    readme = project / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("| `train.lr` |"):
            assert line.count(f"`{value}`") == 1, line
            lines[i] = line.replace(f"`{value}`", f"`{USER_LR_LINE.split('=')[1].strip()}`")
    readme.write_text("".join(lines))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "my edits")


def readme_has_config_table(project: Path) -> bool:
    return "\n| `train.lr` |" in (project / "README.md").read_text()


# --- A release update: the user's edits kept, conflicts only where both changed a line ----------


@pytest.fixture(scope="module")
def updated(
    releases: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, bytes]]:
    """A v0.1.0 project with the user's edits, updated to the newest release; its files before."""
    project = copy_project(releases, tmp_path_factory.mktemp("updated") / "proj", "v0.1.0")
    make_user_edits(project, LR_LINE)
    before = tree(project)
    update(project)  # no vcs_ref: the newest PEP 440 tag
    return project, before


def test_update_goes_to_the_newest_release_and_records_new_questions(
    updated: tuple[Path, dict[str, bytes]],
) -> None:
    project, before = updated
    assert yaml.safe_load(before[ANSWERS])["_commit"] == "v0.1.0"
    recorded = yaml.safe_load((project / ANSWERS).read_text())
    assert recorded["_commit"] == "v0.2.0"
    assert recorded["seed"] == 0  # the new question took its default, nothing was asked


def test_update_keeps_user_edits_and_applies_untouched_template_changes(
    updated: tuple[Path, dict[str, bytes]],
) -> None:
    project, before = updated
    assert (project / "tests" / "test_mine.py").read_text() == USER_TEST
    model = (project / PKG / "model.py").read_text()
    assert model.endswith(USER_FUNCTION)  # the user's function, no conflict
    # The template's change to the same file, under its "Generated by" header line.
    assert model.splitlines()[1].startswith(V2_MODEL_FIRST_LINE)
    assert V2_README_LINE in (project / "README.md").read_text()
    assert changed(before, tree(project)) == {
        ANSWERS,
        "README.md",
        f"{PKG}/config.py",
        f"{PKG}/model.py",
    }


def test_update_marks_a_conflict_only_where_both_changed_the_same_line(
    updated: tuple[Path, dict[str, bytes]],
) -> None:
    """The lr line: in config.py, and in the README's config table (both sides rewrote its row)."""
    project, _ = updated
    expected = [f"{PKG}/config.py"]
    if readme_has_config_table(project):
        expected.insert(0, "README.md")
        readme = (project / "README.md").read_text()
        assert readme.count("\n<<<<<<< before updating\n| `train.lr` |") == 1
        assert readme.count("\n<<<<<<<") == 1
    assert conflicted_files(project) == expected
    assert git(project, "diff", "--name-only", "--diff-filter=U").splitlines() == expected
    config = (project / PKG / "config.py").read_text()
    assert (
        f"<<<<<<< before updating\n{USER_LR_LINE}=======\n{V2_LR_LINE}>>>>>>> after updating\n"
        in config
    )
    assert config.count("<<<<<<<") == 1


def test_the_wizard_says_what_an_update_brings_and_how_to_resolve_its_conflicts(
    releases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the CHANGELOG entries after the project's release, up to the target's; after:
    the conflicted files (the same as Copier's own update) and how to resolve them."""
    project = copy_project(releases, tmp_path / "proj", "v0.1.0")
    make_user_edits(project, LR_LINE)
    assert main(["update", str(project), "--defaults"]) == 1
    out = capsys.readouterr().out
    changelog = git(releases, "show", "v0.2.0:CHANGELOG.md")
    headings = re.findall(r"^## \S+ .*$", changelog, flags=re.MULTILINE)
    brought = [h for h in headings if Version("0.1.0") < Version(h.split()[1]) <= Version("0.2.0")]
    assert brought and out.startswith("What updating from v0.1.0 to v0.2.0 brings (CHANGELOG.md):")
    for heading in headings:
        assert (f"\n{heading}\n" in out) == (heading in brought), heading
    assert out.index(brought[-1]) < out.index(f"Updated {project} to v0.2.0, with conflicts")
    expected = [f"{PKG}/config.py", *(["README.md"] if readme_has_config_table(project) else [])]
    after = out.split(", with conflicts to resolve in:\n")[1].split(HOW_TO_RESOLVE)[0]
    listed = [line.strip() for line in after.splitlines()]
    assert sorted(listed) == sorted(expected) == sorted(conflicted_files(project))
    assert out.rstrip().endswith(HOW_TO_RESOLVE)


def test_release_of_a_recorded_commit() -> None:
    assert release_of("v0.1.0") == release_of("v0.1.0-3-gabc1234") == Version("0.1.0")
    assert release_of("0.2.0rc1") == Version("0.2.0rc1")
    assert release_of("HEAD") is None and release_of("abc1234") is None


def resolve_keeping_mine(text: str) -> str:
    """Keep the project's side ('before updating') of each of Copier's inline conflicts."""
    pattern = r"^<<<<<<< before updating\n(.*?)^=======\n.*?^>>>>>>> after updating\n"
    return re.sub(pattern, r"\1", text, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def resolved(
    updated: tuple[Path, dict[str, bytes]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the updated project with the conflict resolved by hand, as the README says."""
    project = tmp_path_factory.mktemp("resolved") / "proj"
    shutil.copytree(updated[0], project, symlinks=True)
    for name in conflicted_files(project):
        path = project / name
        path.write_text(resolve_keeping_mine(path.read_text()))
    return project


def test_a_resolved_update_compiles_and_keeps_the_users_value(resolved: Path) -> None:
    assert conflicted_files(resolved) == []
    assert USER_LR_LINE in (resolved / PKG / "config.py").read_text()
    sources = sorted(resolved.glob("src/**/*.py")) + sorted(resolved.glob("tests/*.py"))
    assert len(sources) > 10
    for path in sources:
        compile(path.read_text(), str(path), "exec")


def run_own_tests(project: Path, *args: str, parallel: bool = False) -> str:
    """Run the project's own pytest (`args`: which tests) on this interpreter; its output.

    The project is imported from its `src/` (PYTHONPATH) rather than installed: its
    dependencies must be importable already (`nox -s update` installs them once, into an
    environment that sees the shared torch one). `parallel`: a pytest-xdist worker per core
    (one torch thread each), for a whole suite; a few tests start faster without.
    """
    pytest.importorskip("torch")
    path = os.pathsep.join(filter(None, [str(project / "src"), os.environ.get("PYTHONPATH")]))
    workers = ["-n", "auto"] if parallel else []
    # Not the slow tests (runs killed and resumed): the project sessions run them.
    fast = ["-m", "not slow"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            *workers,
            *fast,
            *args,
        ],
        cwd=project,
        env={**os.environ, "PYTHONPATH": path, **({"OMP_NUM_THREADS": "1"} if parallel else {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    return result.stdout


own_tests = pytest.mark.skipif(
    not RUN_PROJECT_TESTS, reason="the project's own tests: TORCH_TEMPLATE_UPDATE_PROJECT_TESTS=1"
)
"""The tests that run a generated project's own tests (all named `..._own_tests`, so that
`nox -s update` selects them with `-k own_tests`)."""


@own_tests
def test_a_resolved_update_passes_its_own_tests(resolved: Path) -> None:
    """All of them: the main promise of an update."""
    run_own_tests(resolved, parallel=True)


def test_a_resolved_update_is_the_new_release_generated_with_the_same_edits(
    resolved: Path, base_project: Path
) -> None:
    """Byte for byte (so `base_project`, and a project toggled on and off again, pass the
    resolved update's own tests too)."""
    assert tree(resolved) == tree(base_project)


# --- Turning features on and off in an existing project ----------------------------------------


@pytest.fixture(scope="module")
def base_project(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of the newest release with the user's edits and git-ignored data and runs."""
    project = copy_project(releases, tmp_path_factory.mktemp("base") / "proj", "v0.2.0")
    make_user_edits(project, V2_LR_LINE)
    (project / "data").mkdir()
    (project / "data" / "train.csv").write_text("x,target\n1,0\n")
    (project / "runs" / "default").mkdir(parents=True)
    (project / "runs" / "default" / "metrics.json").write_text('{"loss": 0.5}\n')
    assert git(project, "status", "--porcelain") == ""  # ignored: an update may start
    return project


def rendered_name(template_path: str) -> str:
    """template/src/{{ package_name }}/{% if ... %}ema.py{% endif %}.jinja -> src/<pkg>/ema.py."""
    name = template_path.removeprefix("template/").replace(
        "{{ package_name }}", DEFAULTS["package_name"]
    )
    name = re.sub(r"\{% if [^%]*%\}(.*?)\{% endif %\}", r"\1", name)
    return name.removesuffix(".jinja")


@dataclass(frozen=True)
class Toggle:
    """An answer that adds code to a project when on, and takes it out again when off."""

    name: str
    on: dict[str, Any]
    off: dict[str, Any]
    """The project's answer before, and after turning it off again (the default)."""
    mention: re.Pattern[str]
    """How the template names it: in a file's path, the file is its own; in a file's text, a hook."""
    hooks: frozenset[str] | None = None
    """The shared files it may hook into (None: any file that mentions it)."""


def feature_toggle(feature: str) -> Toggle:
    on = [f for f in FEATURE_ORDER if f in DEFAULT_FEATURES or f == feature]
    mention = re.compile(rf"""['"]{feature}['"] in features""")
    return Toggle(feature, {"features": on}, {"features": DEFAULT_FEATURES}, mention)


DISTRIBUTED_HOOKS = frozenset(
    {
        *(f"{PKG}/{name}.py" for name in ("train", "cli", "config", "data", "inference", "task")),
        "README.md",
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_mlflow_tracking.py",  # under torchrun, the main process alone logs
    }
)
"""The shared files DDP may hook into; its own files are those whose template names
mention `distributed` (`{% if distributed %}distributed.py{% endif %}.jinja`, ...)."""
TOGGLES = [
    *(
        feature_toggle(feature)
        for feature in ("ema", "compile", "tensorboard", "cross_validation", "tune", "mlflow")
    ),
    Toggle(
        "distributed",
        {"distributed": True},
        {"distributed": False},
        re.compile(r"\{[{%][^{}]*\bdistributed\b[^{}]*[%}]\}"),  # a Jinja tag reading it
        DISTRIBUTED_HOOKS,
    ),
]


INCLUDE = re.compile(
    r"\{%-?\s*include\s+(.+?)(?:\s+ignore missing)?(?:\s+with(?:out)? context)?\s*-?%\}"
)


def included(text: str, names: set[str]) -> set[str]:
    """Which of the template files `names` (paths from the repository root) `text` includes.

    A computed name (`"...{% if input_type == '" ~ input_type ~ "' %}..."`) matches every
    file its literal parts fit.
    """
    found = set()
    for expression in INCLUDE.findall(text):
        parts = [part.strip() for part in expression.split("~")]
        pattern = "".join(
            re.escape(p[1:-1]) if len(p) > 1 and p[0] in "'\"" and p[-1] == p[0] else ".*"
            for p in parts
        )
        found |= {name for name in names if re.fullmatch(pattern, name)}
    return found


def toggle_files(repo: Path, toggle: Toggle) -> tuple[set[str], set[str]]:
    """(its own files, the shared files that mention it) of the template at `repo`, rendered.

    A file mentions it in its text, or by including (`{% include %}`) a file that does.
    """
    texts = {
        path.relative_to(repo).as_posix(): path.read_text(errors="replace")
        for path in (repo / "template").rglob("*")
        if path.is_file()
    }
    own = {name for name in texts if toggle.mention.search(name)}
    hooked = {name for name, text in texts.items() if toggle.mention.search(text)} - own
    while True:
        more = {
            name
            for name, text in texts.items()
            if name not in own | hooked and included(text, set(texts)) & (own | hooked)
        }
        if not more:
            break
        hooked |= more
    return {rendered_name(name) for name in own}, {rendered_name(name) for name in hooked}


@dataclass(frozen=True)
class Toggled:
    """A copy of the base project with `toggle` turned on, committed, then turned off again."""

    toggle: Toggle
    original: dict[str, bytes]
    on: dict[str, bytes]
    fresh: dict[str, bytes]
    """A project generated with the answers that turned it on, and the same user's edits."""
    on_project: Path
    """A copy of the project as it was, turned on."""
    on_conflicts: tuple[str, ...]
    on_unmerged: str
    off_project: Path
    off: dict[str, bytes]
    off_diff: str
    """`git diff --stat` between the project before turning it on and after turning it off."""
    original_ignored: dict[str, bytes]
    off_ignored: dict[str, bytes]
    own: set[str]
    hooked: set[str]


@pytest.fixture(scope="module", params=TOGGLES, ids=lambda toggle: toggle.name)
def toggled(
    request: pytest.FixtureRequest,
    base_project: Path,
    releases: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Toggled:
    toggle: Toggle = request.param
    root = tmp_path_factory.mktemp(f"toggle-{toggle.name}")
    project = root / "proj"
    shutil.copytree(base_project, project, symlinks=True)
    original, original_ignored = tree(project), tree(project, ignored=True)
    recorded = yaml.safe_load(original[ANSWERS])
    assert {k: recorded[k] for k in toggle.off} == toggle.off != toggle.on

    update(project, data=toggle.on)
    on = tree(project)
    on_conflicts = tuple(conflicted_files(project))
    on_unmerged = git(project, "diff", "--name-only", "--diff-filter=U")
    shutil.copytree(project, root / "on", symlinks=True)
    git(project, "add", "-A")
    git(project, "commit", "-qm", f"{toggle.name} on")

    update(project, data=toggle.off)
    off, off_ignored = tree(project), tree(project, ignored=True)
    git(project, "add", "-A")
    off_diff = git(project, "diff", "--cached", "--stat", "HEAD~1")
    fresh_project = copy_project(releases, root / "fresh", "v0.2.0", toggle.on)
    make_user_edits(fresh_project, V2_LR_LINE)
    fresh = tree(fresh_project)
    own, hooked = toggle_files(releases, toggle)
    return Toggled(
        toggle,
        original,
        on,
        fresh,
        root / "on",
        on_conflicts,
        on_unmerged,
        project,
        off,
        off_diff,
        original_ignored,
        off_ignored,
        own,
        hooked,
    )


def test_turning_it_on_adds_exactly_its_files_and_touches_only_its_hooks(
    toggled: Toggled,
) -> None:
    original, on = toggled.original, toggled.on
    added, removed = on.keys() - original.keys(), original.keys() - on.keys()
    modified = {p for p in on.keys() & original.keys() if on[p] != original[p]}
    assert added and added == toggled.own & toggled.fresh.keys()  # its files, all new
    assert removed == set()
    assert ANSWERS in modified and modified <= toggled.hooked | {ANSWERS}  # and its hooks
    if toggled.toggle.hooks is not None:
        spread = toggled.hooked - toggled.toggle.hooks
        assert not spread, (
            f"{toggled.toggle.name} hooks into {sorted(spread)}: add them to the list?"
        )
    recorded = yaml.safe_load(on[ANSWERS])
    assert {k: recorded[k] for k in toggled.toggle.on} == toggled.toggle.on


def test_turning_it_on_is_conflict_free_and_as_if_generated_so(toggled: Toggled) -> None:
    assert toggled.on_conflicts == () and toggled.on_unmerged == ""
    assert toggled.on == toggled.fresh


def test_turning_it_off_restores_the_project(toggled: Toggled) -> None:
    assert toggled.off == toggled.original
    assert toggled.off_ignored == toggled.original_ignored  # data/ and runs/ untouched too
    assert toggled.off_diff == ""


def touched_tests(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """The tests a change concerns, in the project `after`: the test files it added or
    edited, and those of the modules it edited (src/<pkg>/config.py -> tests/test_config.py);
    the loop's (tests/test_training.py) if that makes none. A feature's own tests train with
    it on; the rest of the project is the same as before (asserted above)."""
    names = set()
    for path in changed(before, after):
        if path.startswith("tests/test_"):
            names.add(path)
        elif path.startswith(f"{PKG}/"):
            names.add(f"tests/test_{Path(path).stem}.py")
    return sorted(name for name in names if name in after) or ["tests/test_training.py"]


@own_tests
def test_toggled_projects_pass_their_own_tests(toggled: Toggled) -> None:
    """Turned on: the tests the change concerns. Turned off again, the project is the one it
    was, byte for byte, which is the resolved update, byte for byte (both asserted above):
    its tests ran in full in `test_a_resolved_update_passes_its_own_tests`."""
    run_own_tests(toggled.on_project, *touched_tests(toggled.original, toggled.on))


def features_answer(features: list[str]) -> str:
    return f"features=[{', '.join(features)}]"


def test_the_wizard_turns_a_feature_on_and_off(
    base_project: Path, releases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`torch-template update`: on (staying on this release), its files and hooks only and no
    conflict; off (to the newest release, the same one), the project as it was."""
    project = tmp_path / "proj"
    shutil.copytree(base_project, project, symlinks=True)
    original = tree(project)
    features = [f for f in FEATURE_ORDER if f in DEFAULT_FEATURES or f == "ema"]
    argv = ["update", str(project), "--defaults", "--data", features_answer(features)]
    assert main([*argv, "--vcs-ref", ":current:"]) == 0
    assert capsys.readouterr().out.strip().endswith("to v0.2.0.")
    on = tree(project)
    assert yaml.safe_load(on[ANSWERS])["features"] == features
    own, hooked = toggle_files(releases, feature_toggle("ema"))
    assert on.keys() - original.keys() == own
    assert changed(original, on) <= own | hooked | {ANSWERS}
    assert conflicted_files(project) == []
    git(project, "add", "-A")
    git(project, "commit", "-qm", "ema on")

    assert (
        main(["update", str(project), "--defaults", "--data", features_answer(DEFAULT_FEATURES)])
        == 0
    )
    assert tree(project) == original
    git(project, "add", "-A")
    assert git(project, "diff", "--cached", "--stat", "HEAD~1") == ""


def test_a_value_the_template_does_not_offer_leaves_the_project_unchanged(
    base_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt feature, through Copier's API, the wizard and Copier's CLI: refused, nothing written."""
    head = git(base_project, "rev-parse", "HEAD")
    files = tree(base_project, ignored=True)
    wanted = [*DEFAULT_FEATURES, "wandb"]
    with pytest.raises(ValueError, match=r"Invalid choice for 'features': 'wandb'"):
        update(base_project, data={"features": wanted})
    assert main(["update", str(base_project), "--defaults", "--data", features_answer(wanted)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: features: ['wandb'] not among the choices")
    assert "Traceback" not in err
    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--data", features_answer(wanted)],
        cwd=base_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Invalid choice for 'features'" in result.stderr
    assert tree(base_project, ignored=True) == files
    assert git(base_project, "rev-parse", "HEAD") == head
    assert git(base_project, "status", "--porcelain", "--ignored") == "!! data/\n!! runs/\n"


# --- Files the user owns ------------------------------------------------------------------------


def test_data_and_runs_are_the_users_and_skip_if_exists_names_rendered_files(
    base_project: Path,
) -> None:
    ignored = (base_project / ".gitignore").read_text().splitlines()
    assert {"data/", "runs/"} <= set(ignored)
    rendered = tree(base_project)
    assert not any(p.startswith(("data/", "runs/")) for p in rendered)
    for pattern in current().get("_skip_if_exists", []):
        assert any(Path(p).match(pattern) for p in rendered), pattern


HEADER_EXEMPT = {ANSWERS}
"""Copier writes its first line: "Changes here will be overwritten by Copier; edit with
`copier update --data key=value`"."""


def test_every_generated_file_says_at_the_top_it_is_the_templates(
    releases: Path, tmp_path: Path
) -> None:
    """Within its first two lines (a shebang may come first), each file names the template
    and `copier update`, e.g. `# Generated by the torch-template Copier template; `copier
    update` merges your edits (see README).` (`<!-- ... -->` in Markdown)."""
    project = copy_project(releases, tmp_path / "proj", "v0.2.0")
    lacking = []
    for name, content in tree(project).items():
        head = content.decode(errors="replace").splitlines()[:2]
        if name not in HEADER_EXEMPT and not any(
            "torch-template" in line and "copier update" in line for line in head
        ):
            lacking.append(name)
    assert lacking == []


def test_pre_commit_refuses_to_commit_unresolved_conflict_markers(base_project: Path) -> None:
    assert conflicted_files(base_project) == []  # no generated file (the README) starts a line so
    config = yaml.safe_load((base_project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    # Without --assume-in-merge the hook checks nothing outside a `git merge`, and Copier's
    # markers are written outside one.
    assert hooks["check-merge-conflict"]["args"] == ["--assume-in-merge"]
