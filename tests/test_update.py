"""Updating generated projects: the release rules, and `copier update` between tagged releases.

`release_problems(old, new)` checks any pair of copier.yml files against the rules a release
must keep so that `copier update --defaults` works on every project of the previous one.
The update tests run on committed, tagged copies of this repository (a project rendered
from a dirty HEAD records a commit that does not exist and can never be updated), always
with `unsafe=False` and an empty `copier.Settings()`.

The generated project's own tests (after an update) need torch and take a while: they run
only with TORCH_TEMPLATE_UPDATE_PROJECT_TESTS=1 and torch importable (`nox -s update`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from packaging.version import InvalidVersion, Version

from generator.questions import TEMPLATE_ROOT, load_questions, resolve
from generator.wizard import conflicted_files, main

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


def release_tags(repo: Path) -> list[str]:
    """The repository's PEP 440 tags (`v` prefix allowed), newest first."""
    tags = []
    for tag in git(repo, "tag", "--list").split():
        try:
            tags.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return [tag for _, tag in sorted(tags, reverse=True)]


def test_this_copier_yml_keeps_the_rules_against_the_previous_release(tmp_path: Path) -> None:
    tags = release_tags(TEMPLATE_ROOT)
    if not tags:
        pytest.skip("no release tagged yet: the first release has nothing to keep")
    old = tmp_path / "previous" / "copier.yml"
    old.parent.mkdir()
    old.write_text(git(TEMPLATE_ROOT, "show", f"{tags[0]}:copier.yml"))
    assert release_problems(old, TEMPLATE_ROOT / "copier.yml") == []


def test_the_changelog_names_the_version_pyproject_declares_and_every_tag() -> None:
    changelog = (TEMPLATE_ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## (\S+) \(", changelog, flags=re.MULTILINE)
    pyproject = (TEMPLATE_ROOT / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, flags=re.MULTILINE)
    assert declared and versions and versions[0] == declared.group(1)
    assert [Version(v) for v in versions] == sorted(map(Version, versions), reverse=True)
    for tag in release_tags(TEMPLATE_ROOT):
        assert str(Version(tag)) in versions, f"{tag} has no CHANGELOG entry"


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
    names = git(TEMPLATE_ROOT, "ls-files", "--cached", "--others", "--exclude-standard")
    for name in names.splitlines():
        if (TEMPLATE_ROOT / name).is_file():  # not a file deleted but not yet committed
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
    """Render a release of the template at `src` into `dst`, as its own committed git repository."""
    copier.run_copy(
        str(src),
        str(dst),
        data=data or {},
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


def make_user_edits(project: Path, config: bool) -> None:
    """A function added to the model file, a new test file and (if `config`) a new default lr."""
    with (project / PKG / "model.py").open("a") as file:
        file.write(USER_FUNCTION)
    (project / "tests" / "test_mine.py").write_text(USER_TEST)
    if config:
        edit(project / PKG / "config.py", LR_LINE, USER_LR_LINE)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "my edits")


# --- A release update: the user's edits kept, conflicts only where both changed a line ----------


@pytest.fixture(scope="module")
def updated(
    releases: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, bytes]]:
    """A v0.1.0 project with the user's edits, updated to the newest release; its files before."""
    project = copy_project(releases, tmp_path_factory.mktemp("updated") / "proj", "v0.1.0")
    make_user_edits(project, config=True)
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
    assert model.startswith(V2_MODEL_FIRST_LINE)  # the template's change to the same file
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
    project, _ = updated
    assert conflicted_files(project) == [f"{PKG}/config.py"]
    assert git(project, "diff", "--name-only", "--diff-filter=U") == f"{PKG}/config.py\n"
    config = (project / PKG / "config.py").read_text()
    assert (
        f"<<<<<<< before updating\n{USER_LR_LINE}=======\n{V2_LR_LINE}>>>>>>> after updating\n"
        in config
    )
    assert config.count("<<<<<<<") == 1


def resolve_keeping_mine(text: str) -> str:
    """Keep the project's side ('before updating') of each of Copier's inline conflicts."""
    pattern = r"<<<<<<< before updating\n(.*?)=======\n.*?>>>>>>> after updating\n"
    return re.sub(pattern, r"\1", text, flags=re.DOTALL)


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


@pytest.mark.skipif(
    not RUN_PROJECT_TESTS, reason="the project's own tests: TORCH_TEMPLATE_UPDATE_PROJECT_TESTS=1"
)
def test_a_resolved_update_passes_its_own_tests(resolved: Path) -> None:
    pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": str(resolved / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"],
        cwd=resolved,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout


# --- Turning features on and off in an existing project ----------------------------------------


@pytest.fixture(scope="module")
def base_project(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of the newest release with the user's edits and git-ignored data and runs."""
    project = copy_project(releases, tmp_path_factory.mktemp("base") / "proj", "v0.2.0")
    make_user_edits(project, config=False)
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


def feature_files(repo: Path, feature: str) -> tuple[set[str], set[str]]:
    """(the feature's own files, every file that mentions it) of the template at `repo`, rendered."""
    mention = re.compile(rf"""['"]{feature}['"] in features""")
    own, hooked = set(), set()
    for path in (repo / "template").rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(repo).as_posix()
        if mention.search(relative):
            own.add(rendered_name(relative))
        elif mention.search(path.read_text()):
            hooked.add(rendered_name(relative))
    return own, own | hooked


@pytest.mark.parametrize("feature", ["ema", "compile", "tensorboard"])
def test_turning_a_feature_on_changes_only_its_files_and_off_restores_the_project(
    feature: str, base_project: Path, releases: Path, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    shutil.copytree(base_project, project, symlinks=True)
    original, original_ignored = tree(project), tree(project, ignored=True)
    features = [f for f in FEATURE_ORDER if f in DEFAULT_FEATURES or f == feature]
    assert feature not in DEFAULT_FEATURES

    update(project, data={"features": features})
    on = tree(project)
    own, hooked = feature_files(releases, feature)
    assert own and own <= changed(original, on) - original.keys()  # its files, new
    assert changed(original, on) <= hooked | {ANSWERS}  # and only its hooks besides
    assert yaml.safe_load(on[ANSWERS])["features"] == features
    fresh = tree(copy_project(releases, tmp_path / "fresh", "v0.2.0", {"features": features}))
    user_files = {f"{PKG}/model.py", "tests/test_mine.py"}
    mine = {p: c for p, c in on.items() if p not in user_files}
    assert mine == {p: c for p, c in fresh.items() if p not in user_files}  # as if generated so
    assert conflicted_files(project) == []
    git(project, "add", "-A")
    git(project, "commit", "-qm", f"{feature} on")

    update(project, data={"features": DEFAULT_FEATURES})
    assert tree(project, ignored=True) == original_ignored  # data/ and runs/ untouched too
    git(project, "add", "-A")
    assert git(project, "diff", "--cached", "--stat", "HEAD~1") == ""


def test_a_feature_the_template_refuses_leaves_the_project_unchanged(base_project: Path) -> None:
    head = git(base_project, "rev-parse", "HEAD")
    files = tree(base_project, ignored=True)
    with pytest.raises(ValueError, match=r"'distributed': distributed training is not available"):
        update(base_project, data={"distributed": True})
    assert tree(base_project, ignored=True) == files
    assert git(base_project, "rev-parse", "HEAD") == head
    assert git(base_project, "status", "--porcelain") == ""


def test_the_wizard_refuses_it_cleanly_and_copiers_cli_leaves_the_project_unchanged(
    base_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["update", str(base_project), "--defaults", "--data", "distributed=true"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: distributed: distributed training is not available yet" in err
    assert "Traceback" not in err
    # Copier's own CLI refuses too, though it prints the ValueError's traceback (Copier 9.19).
    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--data", "distributed=true"],
        cwd=base_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Validation error for question 'distributed'" in result.stderr.splitlines()[-1]
    assert git(base_project, "status", "--porcelain", "--ignored") == ("!! data/\n!! runs/\n")


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


def test_pre_commit_refuses_to_commit_unresolved_conflict_markers(base_project: Path) -> None:
    assert conflicted_files(base_project) == []  # no generated file (the README) starts a line so
    config = yaml.safe_load((base_project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    # Without --assume-in-merge the hook checks nothing outside a `git merge`, and Copier's
    # markers are written outside one.
    assert hooks["check-merge-conflict"]["args"] == ["--assume-in-merge"]
