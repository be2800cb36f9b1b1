"""The wizard: prompts from copier.yml, hardware preselection, non-interactive use, safe rendering, update."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from generator import wizard
from generator.hardware import CudaDevice, Hardware
from generator.questions import TEMPLATE_ROOT, load_questions, resolve
from generator.wizard import Failure, Prompt, ask_answers, given_answers, hardware_advice, main

ROOT = str(TEMPLATE_ROOT)
ENTER, DOWN, SPACE, CLEAR, CTRL_C = "\r", "\x1b[B", " ", "\x15", "\x03"
FROM_HEAD = ["--template", ROOT, "--vcs-ref", "HEAD"]

CUDA_BF16 = Hardware(cuda=(CudaDevice("NVIDIA A100", 80.0, True),), cpu_count=32, source="torch")
CUDA_FP16 = Hardware(cuda=(CudaDevice("Tesla T4", 15.0, False),), cpu_count=8, source="torch")
MPS = Hardware(mps=True, cpu_count=10, source="torch")
CPU = Hardware(cpu_count=4)


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No terminal on stdin, and detection fixed to a CPU-only machine (no torch import)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    monkeypatch.setattr(wizard, "detect", lambda: CPU)


def run_interactive(argv: list[str], keys: str) -> int:
    """main() with `keys` queued on a pipe for its prompts."""
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        return main(argv, input=pipe, output=DummyOutput())


def keys_for(answers: dict[str, Any], special: dict[str, str], confirm: str = ENTER) -> str:
    """One key sequence per asked question in copier.yml's order (Enter unless `special`)."""
    return "".join(special.get(name, ENTER) for name in resolve(answers)[0]) + confirm


def project_files(project: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(project)): p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }


def template_is_clean() -> bool:
    status = subprocess.run(
        ["git", "-C", ROOT, "status", "--porcelain"], capture_output=True, text=True, check=True
    )
    return not status.stdout.strip()


def without_commit(files: dict[str, bytes]) -> dict[str, bytes]:
    """A render from a dirty HEAD records a throwaway commit whose hash depends on the time."""
    answers = files[".copier-answers.yml"].decode().splitlines(keepends=True)
    kept = [line for line in answers if not line.startswith("_commit:")]
    return {**files, ".copier-answers.yml": "".join(kept).encode()}


# --- The questions are copier.yml's -----------------------------------------------------


def test_prompts_are_exactly_copier_yml_questions_choices_and_defaults() -> None:
    raw = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}
    shown: list[Prompt] = []

    def take_default(prompt: Prompt) -> Any:
        shown.append(prompt)
        return prompt.default

    answers = ask_answers({}, take_default)
    defaults = resolve({})[0]
    assert answers == defaults
    assert [p.name for p in shown] == [name for name in raw if name in defaults]
    for prompt in shown:
        spec = raw[prompt.name]
        assert spec["help"] in prompt.message
        choices = spec.get("choices")
        if isinstance(choices, list):
            choices = {str(value): value for value in choices}
        assert prompt.choices == tuple((choices or {}).items()), prompt.name
        default = spec["default"]
        if isinstance(default, str) and "{{" in default:
            default = defaults[prompt.name]  # rendered from the answers before it
        assert prompt.default == default, prompt.name
        expected_kind = (
            ("checkbox" if spec.get("multiselect") else "select")
            if choices
            else ("confirm" if spec["type"] == "bool" else "text")
        )
        assert prompt.kind == expected_kind, prompt.name


def test_when_conditions_come_from_copier_yml() -> None:
    shown: list[str] = []

    def ask(prompt: Prompt) -> Any:
        shown.append(prompt.name)
        return prompt.default

    ask_answers({"data_format": "images"}, ask)
    assert "input_kind" not in shown and "data_format" not in shown
    assert "input_kind" in resolve({"data_format": "csv"})[0]


def test_questionary_prompts_take_copier_defaults_on_enter() -> None:
    with create_pipe_input() as pipe:
        pipe.send_text(keys_for({}, {}, confirm=""))
        answers = ask_answers({}, wizard.questionary_ask(pipe, DummyOutput()))
    assert answers == resolve({})[0]


def test_questionary_prompts_answer_each_kind_of_question() -> None:
    features = load_questions()["features"]
    first = features.values[0]
    toggled = [v for v in features.values if (v in features.default) != (v == first)]
    special = {
        "project_name": CLEAR + "churn-model" + ENTER,  # text
        "task": DOWN + ENTER,  # select
        "features": SPACE + ENTER,  # checkbox: toggle the first choice
        "pre_commit": "n" + ENTER,  # confirm
    }
    with create_pipe_input() as pipe:
        pipe.send_text(keys_for({}, special, confirm=""))
        answers = ask_answers({}, wizard.questionary_ask(pipe, DummyOutput()))
    assert answers["project_name"] == "churn-model"
    assert answers["package_name"] == "churn_model"  # default rendered from the answer before
    assert answers["task"] == load_questions()["task"].values[1]
    assert answers["features"] == toggled
    assert answers["pre_commit"] is False


def test_a_y_n_answer_waits_for_enter_so_the_next_question_is_not_skipped() -> None:
    """A person types `n` then Enter: both belong to the yes/no question, not the next one."""
    confirm = Prompt("pre_commit", "confirm", "bool", "Pre-commit?", (), True)
    text = Prompt("description", "text", "str", "Description", (), "the default")
    with create_pipe_input() as pipe:
        pipe.send_text("n" + ENTER + CLEAR + "typed" + ENTER)
        ask = wizard.questionary_ask(pipe, DummyOutput())
        assert ask(confirm) is False
        assert ask(text) == "typed"


def test_an_invalid_answer_is_asked_again_with_the_validator_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = CLEAR + "Bad Name" + ENTER + CLEAR + "good-name" + ENTER
    with create_pipe_input() as pipe:
        pipe.send_text(keys + ENTER * 30)
        answers = ask_answers({}, wizard.questionary_ask(pipe, DummyOutput()))
    assert answers["project_name"] == "good-name"
    expected = resolve({"project_name": "Bad Name"})[1]["project_name"]
    assert f"! {expected}" in capsys.readouterr().out


def test_a_refused_answer_is_asked_again() -> None:
    asked: list[Any] = []

    def ask(prompt: Prompt) -> Any:
        if prompt.name == "author_email":
            asked.append(prompt.default)
            return "nobody" if len(asked) == 1 else "me@example.com"  # first refused
        return prompt.default

    answers = ask_answers({}, ask)
    assert resolve({"author_email": "nobody"})[1]["author_email"]  # copier.yml refuses it
    assert answers["author_email"] == "me@example.com"
    assert asked == [resolve({})[0]["author_email"], "nobody"]  # again, from the refused answer


# --- Hardware preselection ----------------------------------------------------------------


def preselected(hardware: Hardware, capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    answers = ask_answers({}, lambda prompt: prompt.default, advise=hardware_advice(hardware))
    return answers, capsys.readouterr().out


@pytest.mark.parametrize("hardware", [CUDA_BF16, CUDA_FP16, MPS, CPU], ids=lambda h: h.describe())
def test_preselections_are_never_refused(
    hardware: Hardware, capsys: pytest.CaptureFixture[str]
) -> None:
    answers, out = preselected(hardware, capsys)
    assert answers["hardware"] == hardware.device
    assert resolve(answers)[1] == {}
    assert f"hardware -> {hardware.device}: " in out
    assert set(answers["features"]) <= set(load_questions()["features"].values)


def test_cuda_with_bf16_preselects_amp(capsys: pytest.CaptureFixture[str]) -> None:
    answers, out = preselected(CUDA_BF16, capsys)
    assert "amp" in answers["features"]
    assert "features -> amp on: bf16 autocast on NVIDIA A100" in out
    assert "NVIDIA A100 (80 GiB, bf16)" in out


def test_cuda_without_bf16_preselects_amp_with_a_scaler(capsys: pytest.CaptureFixture[str]) -> None:
    answers, out = preselected(CUDA_FP16, capsys)
    assert "amp" in answers["features"]
    assert "fp16 autocast with a GradScaler on Tesla T4" in out


@pytest.mark.parametrize("hardware", [MPS, CPU], ids=["mps", "cpu"])
def test_mps_and_cpu_leave_amp_off(hardware: Hardware, capsys: pytest.CaptureFixture[str]) -> None:
    answers, out = preselected(hardware, capsys)
    assert "amp" not in answers["features"]
    assert "early_stopping" in answers["features"]
    assert "features -> amp off: " in out
    assert len([line for line in out.splitlines() if "->" in line]) == 2  # one line each


def test_features_follow_the_hardware_answer_not_only_the_detection() -> None:
    advise = hardware_advice(CUDA_BF16)
    suggestion = advise("features", {"hardware": "cpu"})
    assert suggestion is not None and "amp" not in suggestion.value


def test_the_feature_prompt_shows_copier_yml_explanations() -> None:
    prompt = wizard.prompt_for(load_questions()["features"], ["amp"])
    labels = dict(prompt.choices)
    assert all(label.startswith(f"{value}: ") for label, value in labels.items())


# --- Answers on the command line ------------------------------------------------------------


def test_data_values_are_yaml_typed_per_question(tmp_path: Path) -> None:
    answers_file = tmp_path / "answers.yml"
    answers_file.write_text("_commit: v1\ntask: regression\nci: none\ndescription: 1.10\n")
    answers = given_answers(
        ["features=[amp, early_stopping]", "pre_commit=no", "ci=github", "project_name=1.10"],
        str(answers_file),
    )
    assert answers == {
        "task": "regression",
        "ci": "github",  # --data wins over the file
        "description": "1.1",  # YAML in the file: a float, made text
        "features": ["amp", "early_stopping"],
        "pre_commit": False,
        "project_name": "1.10",  # --data text stays text for str questions
    }
    assert given_answers(["features=amp"], None) == {"features": ["amp"]}
    assert given_answers(["features="], None) == {"features": []}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["nosuch=1"], "unknown question nosuch"),
        (["pre_commit=maybe"], "pre_commit: expected true or false"),
        (["task"], "expected NAME=VALUE"),
        (["features=[amp"], "features: not valid YAML"),
    ],
)
def test_bad_data_is_refused(data: list[str], message: str) -> None:
    with pytest.raises(Failure, match=message.replace("[", r"\[")):
        given_answers(data, None)


def test_a_computed_question_cannot_be_answered(tmp_path: Path) -> None:
    (tmp_path / "copier.yml").write_text(
        "name:\n  type: str\n  default: x\n"
        "slug:\n  type: str\n  default: '{{ name }}-slug'\n  when: false\n"
    )
    assert given_answers(["name=y"], None, tmp_path) == {"name": "y"}
    with pytest.raises(Failure, match="slug: computed from the other answers"):
        given_answers(["slug=z"], None, tmp_path)


# --- Non-interactive refusals -----------------------------------------------------------------


def test_missing_answers_without_a_terminal_exit_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["new", str(tmp_path / "p"), *FROM_HEAD, "--data", "project_name=x"])
    err = capsys.readouterr().err
    assert code == 2
    named = err.split("no answer for: ")[1].splitlines()[0].split(", ")
    assert named == [name for name in resolve({})[0] if name != "project_name"]
    assert "--defaults" in err
    assert not (tmp_path / "p").exists()


def test_an_invalid_answer_exits_2_with_the_validator_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["new", str(tmp_path / "p"), *FROM_HEAD, "--defaults", "--data", "package_name=json"]
    )
    message = resolve({"package_name": "json"})[1]["package_name"]
    assert code == 2
    assert f"error: package_name: {message}" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_an_invalid_given_answer_is_refused_before_asking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_interactive(["new", str(tmp_path / "p"), *FROM_HEAD, "--data", "task=ranking"], "")
    assert code == 2
    assert "error: task: " in capsys.readouterr().err


def test_a_non_empty_destination_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    assert main(["new", str(dest), *FROM_HEAD, "--defaults"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]


def test_overwrite_renders_into_a_non_empty_destination(tmp_path: Path) -> None:
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    assert main(["new", str(dest), *FROM_HEAD, "--defaults", "--overwrite"]) == 0
    assert (dest / "notes.txt").read_text() == "mine\n"
    assert (dest / "pyproject.toml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no staging folder left


def test_a_template_folder_outside_git_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(TEMPLATE_ROOT / "copier.yml", copy)
    assert main(["new", str(tmp_path / "p"), "--template", str(copy), "--defaults"]) == 2
    assert "not the root of a git repository" in capsys.readouterr().err


# --- Ctrl-C leaves nothing behind -------------------------------------------------------------


def test_ctrl_c_at_a_prompt_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_interactive(["new", str(tmp_path / "p"), *FROM_HEAD], ENTER * 3 + CTRL_C)
    assert code == 130
    assert list(tmp_path.iterdir()) == []
    assert "nothing written" in capsys.readouterr().err


def test_ctrl_c_while_rendering_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted_render(answers: dict[str, Any], dst: Path, **_: Any) -> Path:
        (Path(dst) / "src").mkdir()
        (Path(dst) / "pyproject.toml").write_text("half\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(wizard, "render", interrupted_render)
    dest = tmp_path / "new" / "deeper" / "p"
    assert main(["new", str(dest), *FROM_HEAD, "--defaults"]) == 130
    assert list(tmp_path.iterdir()) == []  # not even the parents it created


def test_declining_the_summary_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_interactive(["new", str(tmp_path / "p"), *FROM_HEAD], keys_for({}, {}, "n" + ENTER))
    out = capsys.readouterr().out
    assert code == 1
    assert "Summary" in out and "project_name" in out
    assert list(tmp_path.iterdir()) == []


# --- The same answers render the same project, whichever way they are given ------------------


def test_project_name_defaults_to_the_destination_folder_name(tmp_path: Path) -> None:
    # Made valid; a name without a letter gives the fixed default.
    named = {"Churn Model 2": "churn-model-2", "2024_q1": "q1", "2024": "my-torch-project"}
    for folder, name in named.items():
        assert resolve({}, destination=tmp_path / folder)[0]["project_name"] == name
        shown = ask_answers({}, lambda prompt: prompt.default, destination=tmp_path / folder)
        assert shown["project_name"] == name
    # The wizard (which renders into a staging folder first) and Copier itself agree.
    by_wizard, by_copier = (
        tmp_path / "wizard" / "Churn Model 2",
        tmp_path / "copier" / "Churn Model 2",
    )
    assert main(["new", str(by_wizard), *FROM_HEAD, "--defaults"]) == 0
    copier.run_copy(
        ROOT,
        str(by_copier),
        defaults=True,
        unsafe=False,
        vcs_ref="HEAD",
        quiet=True,
        settings=copier.Settings(),
    )
    for project in (by_wizard, by_copier):
        recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
        assert recorded["project_name"] == "churn-model-2"
        assert (project / "src" / "churn_model_2" / "cli.py").is_file()


def test_interactive_non_interactive_and_copier_render_identical_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = load_questions()["features"]
    first = features.values[0]
    toggled = [v for v in features.values if (v in features.default) != (v == first)]
    answers = {"project_name": "same-proj", "task": "regression", "features": toggled}
    special = {
        "project_name": CLEAR + "same-proj" + ENTER,
        "task": DOWN + ENTER,
        "features": SPACE + ENTER,
    }
    asked, by_data, by_copier = tmp_path / "asked", tmp_path / "data", tmp_path / "copier"

    argv = ["new", str(asked), *FROM_HEAD, "--no-detect"]
    assert run_interactive(argv, keys_for(answers, special)) == 0
    out = capsys.readouterr().out
    data = [f"--data=project_name={answers['project_name']}", "--data=task=regression"]
    data.append(f"--data=features=[{', '.join(toggled)}]")
    assert main(["new", str(by_data), *FROM_HEAD, "--defaults", *data]) == 0
    copier.run_copy(
        ROOT,
        str(by_copier),
        data=answers,
        defaults=True,
        unsafe=False,
        vcs_ref="HEAD",
        quiet=True,
        settings=copier.Settings(),
    )

    files = [project_files(p) for p in (asked, by_data, by_copier)]
    if not template_is_clean():
        files = [without_commit(f) for f in files]
    assert files[0] == files[1] == files[2]

    recorded = yaml.safe_load((asked / ".copier-answers.yml").read_text())
    assert recorded["_src_path"] == ROOT and recorded["_commit"]
    assert {k: v for k, v in recorded.items() if not k.startswith("_")} == resolve(answers)[0]

    for step in ["cd ", "pip install -e '.[dev]'", "same-proj sample-data", "same-proj train"]:
        assert step in out, step


# --- update --------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


@pytest.fixture
def tagged_template(tmp_path: Path, git_identity: None) -> Iterator[Path]:
    """A committed copy of this template (copier.yml and template/), tagged 1.0.0."""
    repo = tmp_path / "tpl"
    files = git(TEMPLATE_ROOT, "ls-files", "-co", "--exclude-standard", "copier.yml", "template")
    for name in files.splitlines():
        if (TEMPLATE_ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_ROOT / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "1.0.0")
    git(repo, "tag", "1.0.0")
    yield repo


def release(repo: Path, tag: str, edit: dict[str, tuple[str, str]]) -> None:
    """Commit text replacements {path: (old, new)} and tag them."""
    for name, (old, new) in edit.items():
        path = repo / name
        assert old in path.read_text(), (name, old)
        path.write_text(path.read_text().replace(old, new, 1))
    git(repo, "commit", "-qam", tag)
    git(repo, "tag", tag)


def generated(tagged_template: Path, dest: Path) -> Path:
    """A project from the newest tag (no --vcs-ref), committed in its own git repository."""
    assert main(["new", str(dest), "--template", str(tagged_template), "--defaults"]) == 0
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "generated")
    return dest


README_TITLE = ("template/README.md.jinja", "# {{ project_name }}\n")


def test_new_renders_the_newest_release_tag(tagged_template: Path, tmp_path: Path) -> None:
    git(tagged_template, "tag", "9.0.0a1")  # a prerelease: not picked
    release(tagged_template, "0.9.0", {README_TITLE[0]: (README_TITLE[1], "# older\n")})
    with wizard.open_template(str(tagged_template), None) as template:
        assert template.ref == "1.0.0"
        assert template.root != tagged_template
        assert (template.root / "copier.yml").read_text() == (
            tagged_template / "copier.yml"
        ).read_text()
    with wizard.open_template(f"git+file://{tagged_template}", "0.9.0") as template:
        assert template.ref == "0.9.0"


def test_update_applies_a_new_release(tagged_template: Path, tmp_path: Path) -> None:
    project = generated(tagged_template, tmp_path / "proj")
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "1.0.0"
    release(
        tagged_template, "1.1.0", {README_TITLE[0]: (README_TITLE[1], "# {{ project_name }} 1.1\n")}
    )
    assert main(["update", str(project), "--defaults", "--data", "task=regression"]) == 0
    # The title, under the README's "Generated by" comment line.
    assert (project / "README.md").read_text().splitlines()[1] == "# proj 1.1"  # the folder's name
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == "1.1.0" and recorded["task"] == "regression"


def test_update_lists_conflicts_and_exits_1(
    tagged_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = generated(tagged_template, tmp_path / "proj")
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("# proj\n", "# Churn model\n", 1))
    git(project, "commit", "-qam", "my title")
    release(
        tagged_template, "1.1.0", {README_TITLE[0]: (README_TITLE[1], "# {{ project_name }} 1.1\n")}
    )
    assert main(["update", str(project), "--defaults"]) == 1
    assert "  README.md" in capsys.readouterr().out.splitlines()
    assert "<<<<<<< before updating" in readme.read_text().splitlines()


def test_update_asks_for_new_questions_or_names_them(
    tagged_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = generated(tagged_template, tmp_path / "proj")
    new_question = "\nseed:\n  type: int\n  help: The random seed\n  default: 7\n"
    (tagged_template / "copier.yml").write_text(
        (tagged_template / "copier.yml").read_text() + new_question
    )
    release(tagged_template, "1.1.0", {})
    assert main(["update", str(project)]) == 2
    assert "no answer for: seed" in capsys.readouterr().err
    assert run_interactive(["update", str(project)], CLEAR + "42" + ENTER) == 0
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["seed"] == 42


# --- The real terminal --------------------------------------------------------------------------


def test_the_terminal_program_end_to_end(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    argv = ["-m", "generator", "new", "e2e", "--template", ROOT, "--vcs-ref", "HEAD"]
    child = pexpect.spawn(sys.executable, argv, cwd=tmp_path, env=env, encoding="utf-8", timeout=60)
    keys = {"project_name": CLEAR + "e2e-proj" + ENTER, "task": DOWN + ENTER}
    answered: list[str] = []
    try:
        while True:
            # A prompt is redrawn on every key: answer each question once.
            found = child.expect([r"\?(?:\x1b\[[0-9;]*m)* (\w+): ", r"Create the project in e2e\?"])
            if found == 1:
                child.send(ENTER)
                break
            name = child.match.group(1)
            if name not in answered:
                answered.append(name)
                child.send(keys.get(name, ENTER))
        child.expect("Next steps")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert answered == list(resolve({"task": "regression"})[0])
    recorded = yaml.safe_load((tmp_path / "e2e" / ".copier-answers.yml").read_text())
    assert recorded["project_name"] == "e2e-proj"
    assert recorded["task"] == load_questions()["task"].values[1]
    assert (tmp_path / "e2e" / "src" / "e2e_proj" / "train.py").is_file()
