"""`torch-template new DEST` / `torch-template update [DEST]`: the interactive wizard.

Everything about the questions (order, help, choices, defaults, `when`, validators) is
read at run time from the copier.yml of the template version being rendered; the wizard
only adds hardware-based preselections, a summary and safe rendering. Rendering and
updating go through Copier's public API without trust.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import yaml
from copier.errors import CopierError
from packaging.version import InvalidVersion, Version

from generator.hardware import Hardware, detect
from generator.questions import (
    TEMPLATE_ROOT,
    Question,
    jinja_environment,
    load_questions,
    load_settings,
    resolve,
)
from generator.render import render

ANSWERS_FILE = ".copier-answers.yml"
CONFLICT_MARKER = b"<<<<<<< before updating"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Failure(Exception):
    """A refusal: printed as `error: <line>` lines, exiting with `code`."""

    def __init__(self, *lines: str, hint: str = "", code: int = EXIT_USAGE) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.hint = hint
        self.code = code


# --- The template: where it is, which version, and that version's copier.yml ------------


@dataclass(frozen=True)
class Template:
    src: str
    """What Copier gets: an absolute path for a local clone, else the URL as given."""
    ref: str
    """The git ref rendered: the given --vcs-ref, else the newest release tag (or HEAD)."""
    root: Path
    """A folder holding copier.yml (and CHANGELOG.md, where there is one) as they are at `ref`."""


def default_source() -> str:
    """This checkout of the template repository, when the generator runs from one."""
    if (TEMPLATE_ROOT / "copier.yml").is_file() and _is_git_root(TEMPLATE_ROOT):
        return str(TEMPLATE_ROOT)
    raise Failure("no template repository next to the generator; pass --template URL")


@contextlib.contextmanager
def open_template(src: str, vcs_ref: str | None) -> Iterator[Template]:
    """The template at `src` and `vcs_ref`, with its copier.yml readable at `.root`.

    A local clone at HEAD is read in place (Copier renders its working tree, uncommitted
    changes included); any other ref or a URL is read from git, so the questions asked are
    those of the version rendered.
    """
    local = Path(src).expanduser()
    with tempfile.TemporaryDirectory(prefix="torch-template-") as scratch:
        if local.is_dir():
            local = local.resolve()
            if not _is_git_root(local):
                raise Failure(
                    f"--template {src}: not the root of a git repository; Copier renders "
                    "from git so that the project records the template commit for updates"
                )
            ref = vcs_ref or newest_tag(str(local))
            if ref == "HEAD":
                yield Template(str(local), ref, local)
                return
            repo = local
            source = str(local)
        else:
            repo = Path(scratch) / "clone"
            _git(
                "clone", "--quiet", "--no-checkout", "--filter=blob:none", _git_url(src), str(repo)
            )
            ref = vcs_ref or newest_tag(str(repo))
            source = src
        root = Path(scratch) / "root"
        root.mkdir()
        (root / "copier.yml").write_text(_git("-C", str(repo), "show", f"{ref}:copier.yml"))
        with contextlib.suppress(Failure):  # a template without a CHANGELOG.md
            changelog = _git("-C", str(repo), "show", f"{ref}:CHANGELOG.md")
            (root / "CHANGELOG.md").write_text(changelog)
        yield Template(source, ref, root)


def newest_tag(repo: str) -> str:
    """The newest non-prerelease PEP 440 tag, as Copier picks it; HEAD without one."""
    versions = []
    for line in _git("-C", repo, "tag", "--list").splitlines():
        with contextlib.suppress(InvalidVersion):
            version = Version(line.strip())
            if not version.is_prerelease:
                versions.append((version, line.strip()))
    return max(versions)[1] if versions else "HEAD"


def _git_url(src: str) -> str:
    """Copier's URL shorthands, for our own `git clone`."""
    for prefix, host in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/")):
        if src.startswith(prefix):
            path = src.removeprefix(prefix)
            return host + (path if path.endswith(".git") else f"{path}.git")
    return src.removeprefix("git+")


def _is_git_root(path: Path) -> bool:
    try:
        top = _git("-C", str(path), "rev-parse", "--show-toplevel").strip()
    except Failure:
        return False
    return Path(top).resolve() == path.resolve()


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError as error:
        raise Failure(f"git: {error}") from error
    if result.returncode != 0:
        raise Failure(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


# --- Answers given on the command line --------------------------------------------------


def given_answers(
    data: Sequence[str], answers_file: str | None, root: Path = TEMPLATE_ROOT
) -> dict[str, Any]:
    """--answers-file (YAML; `_` keys ignored), then --data NAME=VALUE on top, typed per question."""
    questions = load_questions(root)
    raw: dict[str, tuple[Any, bool]] = {}
    if answers_file:
        try:
            loaded = yaml.safe_load(Path(answers_file).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise Failure(f"--answers-file {answers_file}: {error}") from error
        if not isinstance(loaded, dict):
            raise Failure(f"--answers-file {answers_file}: not a mapping of answers")
        raw.update({str(k): (v, False) for k, v in loaded.items() if not str(k).startswith("_")})
    for item in data:
        name, sep, value = item.partition("=")
        if not sep:
            raise Failure(f"--data {item}: expected NAME=VALUE")
        raw[name.strip()] = (value, True)
    unknown = [name for name in raw if name not in questions]
    if unknown:
        raise Failure(
            f"unknown question{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the questions are: {', '.join(n for n, q in questions.items() if q.when is not False)}"
        )
    computed = [name for name in raw if questions[name].when is False]
    if computed:
        raise Failure(f"{', '.join(computed)}: computed from the other answers, never answered")
    return {name: typed(questions[name], value, text) for name, (value, text) in raw.items()}


def typed(question: Question, value: Any, from_text: bool) -> Any:
    """An answer of the question's type. Text from --data is parsed as YAML except for `str`."""
    try:
        if from_text and (question.multiselect or question.type != "str"):
            value = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise Failure(f"{question.name}: not valid YAML ({error})") from error
    if question.multiselect:
        items = [] if value is None else value if isinstance(value, list) else [value]
        return [_scalar(question, item) for item in items]
    return _scalar(question, value)


def _scalar(question: Question, value: Any) -> Any:
    kind = question.type
    ok = {
        "str": isinstance(value, (str, int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        expected = "true or false" if kind == "bool" else f"a {kind}"
        raise Failure(f"{question.name}: expected {expected} (got {value!r})")
    return {"str": str, "float": float}.get(kind, lambda v: v)(value)


def check(answers: dict[str, Any], root: Path, only: set[str] | None = None) -> None:
    """Refuse answers that copier.yml's validators refuse (all, or those named in `only`)."""
    errors = resolve(answers, root)[1]
    lines = [f"{name}: {msg}" for name, msg in errors.items() if only is None or name in only]
    if lines:
        raise Failure(*lines)


def missing(answers: dict[str, Any], root: Path) -> list[str]:
    """The questions that would be asked (their `when` holds) and have no answer."""
    return [name for name in resolve(answers, root)[0] if name not in answers]


# --- Asking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """One question as shown: built from copier.yml, nothing added but the default."""

    name: str
    kind: str
    """'text', 'confirm', 'select' or 'checkbox'."""
    type: str
    message: str
    choices: tuple[tuple[str, Any], ...]
    """(label, value) in copier.yml's order."""
    default: Any


Ask = Callable[[Prompt], Any]
"""Shows a prompt and returns the answer (raises KeyboardInterrupt on Ctrl-C)."""


def prompt_for(question: Question, default: Any) -> Prompt:
    if question.choices is not None:
        kind = "checkbox" if question.multiselect else "select"
    else:
        kind = "confirm" if question.type == "bool" else "text"
    message = f"{question.name}: {question.help}" if question.help else question.name
    choices = tuple((question.choices or {}).items())
    return Prompt(question.name, kind, question.type, message, choices, default)


def questionary_ask(input: Any = None, output: Any = None) -> Ask:
    """An `Ask` on questionary; `input`/`output` are prompt_toolkit's (a pipe in tests)."""
    import questionary

    io = {key: value for key, value in (("input", input), ("output", output)) if value is not None}

    def ask(prompt: Prompt) -> Any:
        question: questionary.Question
        if prompt.kind == "confirm":
            # auto_enter=False: "n" alone would submit, and the Enter a person types after it
            # would accept the next question unseen.
            question = questionary.confirm(
                prompt.message, default=bool(prompt.default), auto_enter=False, **io
            )
        elif prompt.kind == "select":
            choices = [questionary.Choice(title=label, value=v) for label, v in prompt.choices]
            default = prompt.default if prompt.default in [v for _, v in prompt.choices] else None
            question = questionary.select(prompt.message, choices=choices, default=default, **io)
        elif prompt.kind == "checkbox":
            chosen = prompt.default or []
            choices = [
                questionary.Choice(title=label, value=v, checked=v in chosen)
                for label, v in prompt.choices
            ]
            question = questionary.checkbox(prompt.message, choices=choices, **io)
        else:

            def parses(text: str) -> bool | str:
                try:
                    _parse_text(prompt.type, text)
                except (ValueError, yaml.YAMLError):
                    return f"not a valid {prompt.type}"
                return True

            default = "" if prompt.default is None else str(prompt.default)
            question = questionary.text(prompt.message, default=default, validate=parses, **io)
            return _parse_text(prompt.type, question.unsafe_ask())
        return question.unsafe_ask()

    return ask


def _parse_text(kind: str, text: str) -> Any:
    if kind in ("int", "float"):
        return int(text) if kind == "int" else float(text)
    if kind in ("yaml", "json"):
        return yaml.safe_load(text)
    return text


@dataclass(frozen=True)
class Suggestion:
    value: Any
    reasons: tuple[str, ...]
    """One line each: what was preselected and why."""


Advise = Callable[[str, dict[str, Any]], Suggestion | None]
"""(question, answers so far) -> a preselection to use instead of copier.yml's default."""


def hardware_advice(hardware: Hardware, root: Path = TEMPLATE_ROOT) -> Advise:
    """Preselect `hardware` from the detected device and `features` suited to it.

    Only values that copier.yml offers and its validators accept are ever preselected.
    """
    questions = load_questions(root)

    def advise(name: str, answers: dict[str, Any]) -> Suggestion | None:
        question = questions.get(name)
        if question is None:
            return None
        if name == "hardware":
            device = hardware.device
            if device not in question.values or resolve({**answers, name: device}, root)[1].get(
                name
            ):
                return None
            return Suggestion(device, (f"  hardware -> {device}: {_device_reason(hardware)}",))
        if name == "features" and question.multiselect:
            return _suggest_features(question, answers, hardware, root)
        return None

    return advise


def _device_reason(hardware: Hardware) -> str:
    largest = hardware.largest
    if largest is not None:
        count = len(hardware.cuda)
        found = "a CUDA GPU" if count == 1 else f"{count} CUDA GPUs"
        return (
            f"found {found}; projects train on the one with the most memory, {largest.describe()}"
        )
    if hardware.mps:
        return "found an Apple silicon GPU (MPS) and no CUDA GPU"
    return f"found no CUDA GPU or Apple MPS; trains on the {hardware.cpu_count} CPU cores"


def _suggest_features(
    question: Question, answers: dict[str, Any], hardware: Hardware, root: Path
) -> Suggestion | None:
    chosen = answers.get("hardware", "auto")
    device = hardware.device if chosen == "auto" else chosen
    features = list(resolve(answers, root)[0].get(question.name) or [])
    reasons = []
    largest = hardware.largest if device == "cuda" else None
    if device == "cuda":
        if largest is None:
            why = "mixed precision on CUDA (bf16 where the GPU has it, else fp16 with a GradScaler)"
        elif largest.bf16 is False:
            why = f"fp16 autocast with a GradScaler on {largest.name} (it has no bf16)"
        else:
            why = f"bf16 autocast on {largest.name}: about half the memory traffic, no loss scaling"
        wanted = [("amp", why)]
        if largest is not None and largest.bf16:
            wanted.append(
                ("compile", f"torch.compile pays off on a recent GPU like {largest.name}")
            )
        for feature, why in wanted:
            trial = [*features, feature] if feature not in features else features
            if feature in question.values and not _refused(question, answers, trial, root):
                features = trial
                reasons.append(f"  features -> {feature} on: {why}")
    elif "amp" in features:
        features.remove("amp")
        where = "Apple MPS" if device == "mps" else "the CPU"
        reasons.append(
            f"  features -> amp off: projects train in fp32 on {where}, so amp changes nothing"
        )
    if not reasons or _refused(question, answers, features, root):
        return None
    features.sort(key=question.values.index)
    return Suggestion(features, tuple(reasons))


def _refused(question: Question, answers: dict[str, Any], value: Any, root: Path) -> bool:
    return question.name in resolve({**answers, question.name: value}, root)[1]


def ask_answers(
    given: dict[str, Any],
    ask: Ask,
    root: Path = TEMPLATE_ROOT,
    advise: Advise | None = None,
    destination: str | Path | None = None,
) -> dict[str, Any]:
    """Ask, in copier.yml's order, every question whose `when` holds and that `given` lacks.

    The default shown is copier.yml's (rendered against the answers so far and the
    `destination` folder), or the advice's preselection. An answer a validator refuses is
    asked again under its message.
    """
    answers = dict(given)
    for question in load_questions(root).values():
        if question.name in given:
            continue
        asked = resolve(answers, root, destination)[0]
        if question.name not in asked:
            continue
        default = asked[question.name]
        suggestion = advise(question.name, answers) if advise else None
        if suggestion is not None:
            default = suggestion.value
            for line in suggestion.reasons:
                print(line)
        while True:
            value = ask(prompt_for(question, default))
            message = resolve({**answers, question.name: value}, root)[1].get(question.name)
            if not message:
                break
            print(f"  ! {message}")
            default = value
        answers[question.name] = value
    return answers


def summary(answers: dict[str, Any], root: Path = TEMPLATE_ROOT) -> str:
    """The answers that count (the asked questions), one a line."""
    asked = resolve(answers, root)[0]
    width = max(map(len, asked), default=0)
    return "\n".join(f"  {name.ljust(width)}  {_show(value)}" for name, value in asked.items())


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


# --- Rendering --------------------------------------------------------------------------


def is_occupied(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def render_into(
    answers: dict[str, Any], dest: Path, src: str, vcs_ref: str, overwrite: bool = False
) -> None:
    """Render into a fresh folder next to `dest`, then move it into place.

    An interruption or error leaves nothing behind: neither the partial render nor the
    parent folders it created. With `overwrite`, the rendered files are copied over an
    existing `dest` once the render is complete.
    """
    dest = dest.absolute()
    created = next((p for p in reversed(dest.parents) if not p.exists()), None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.partial"
    staging.mkdir()
    done = False
    try:
        render(answers, staging, src=src, vcs_ref=vcs_ref)
        if is_occupied(dest):
            shutil.copytree(staging, dest, symlinks=True, dirs_exist_ok=True)
        else:
            if dest.exists():
                dest.rmdir()
            staging.rename(dest)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done and created is not None:
            shutil.rmtree(created, ignore_errors=True)


def next_steps(answers: dict[str, Any], dest: str, root: Path = TEMPLATE_ROOT) -> str:
    """copier.yml's `_message_after_copy` for these answers (Copier's own is silenced)."""
    message = load_settings(root).get("_message_after_copy")
    context = {**resolve(answers, root)[0], "_copier_conf": {"dst_path": shlex.quote(dest)}}
    if message:
        with contextlib.suppress(Exception):  # a message using Copier-only names: ours below
            return jinja_environment(root).from_string(message).render(**context).rstrip()
    name = context.get("project_name", "<project_name>")
    return (
        f"Your project is ready in {dest}.\n\nNext steps:\n  cd {shlex.quote(dest)}\n"
        f"  python -m pip install -e '.[dev]'\n  {name} sample-data\n  {name} train"
    )


# --- Commands ---------------------------------------------------------------------------


def new(args: argparse.Namespace, ask: Ask | None) -> int:
    dest = Path(args.dest)
    if is_occupied(dest) and not args.overwrite:
        kind = "is not empty" if dest.is_dir() else "exists and is not a folder"
        raise Failure(f"{dest} {kind} (pass --overwrite to render into it anyway)")
    if dest.exists() and not dest.is_dir():
        raise Failure(f"{dest} exists and is not a folder")
    with open_template(args.template or default_source(), args.vcs_ref) as template:
        root = template.root
        answers = given_answers(args.data, args.answers_file, root)
        if ask is None:
            if not args.defaults:
                _refuse_missing(answers, root)
            check(answers, root)
        else:
            check(answers, root, only=set(answers))
            advise = None
            if not args.no_detect:
                hardware = detect()
                print(f"This machine: {hardware.describe()}")
                advise = hardware_advice(hardware, root)
            answers = ask_answers(answers, ask, root, advise, destination=dest.absolute())
            print(f"\nSummary ({template.src} at {template.ref}):\n{summary(answers, root)}")
            confirm = Prompt(
                "confirm", "confirm", "bool", f"Create the project in {dest}?", (), True
            )
            if not ask(confirm):
                print("Nothing written.")
                return 1
        # The project's name comes from `dest`: render_into renders into a staging folder.
        answers.setdefault(
            "project_name", resolve(answers, root, dest.absolute())[0]["project_name"]
        )
        try:
            render_into(answers, dest, template.src, template.ref, overwrite=args.overwrite)
        except ValueError as error:  # a validator resolve() does not know of
            raise Failure(str(error)) from error
        except CopierError as error:
            raise Failure(str(error)) from error
        print(f"\n{next_steps(answers, args.dest, root)}")
    return 0


def update(args: argparse.Namespace, ask: Ask | None) -> int:
    dest = Path(args.dest)
    answers_path = dest / ANSWERS_FILE
    try:
        recorded = yaml.safe_load(answers_path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise Failure(f"{answers_path}: {error} (not a project generated by Copier?)") from error
    src = recorded.get("_src_path")
    if not src or not recorded.get("_commit"):
        raise Failure(f"{answers_path} records no _src_path and _commit; cannot update")
    current = args.vcs_ref == copier.VcsRef.CURRENT.value
    with open_template(src, recorded["_commit"] if current else args.vcs_ref) as template:
        root = template.root
        questions = load_questions(root)
        previous = {k: v for k, v in recorded.items() if k in questions}
        given = given_answers(args.data, args.answers_file, root)
        answers = {**previous, **given}
        if ask is None:
            if not args.defaults:
                _refuse_missing(answers, root)
            check(answers, root)
        else:
            check(answers, root, only=set(answers))
            answers = ask_answers(answers, ask, root)
        new_answers = {k: v for k, v in answers.items() if k not in previous or k in given}
        if not current:
            print(what_it_brings(recorded["_commit"], template), end="")
        try:
            copier.run_update(
                str(dest),
                data=new_answers,
                defaults=True,
                unsafe=False,
                overwrite=True,
                settings=copier.Settings(),
                vcs_ref=copier.VcsRef.CURRENT if current else template.ref,
            )
        except (ValueError, CopierError) as error:
            raise Failure(str(error)) from error
    conflicts = conflicted_files(dest)
    if conflicts:
        print(f"Updated {dest} to {template.ref}, with conflicts to resolve in:")
        print("\n".join(f"  {path}" for path in conflicts))
        print(HOW_TO_RESOLVE)
        return 1
    print(f"Updated {dest} to {template.ref}.")
    return 0


HOW_TO_RESOLVE = """\
Your edits and the template's changed the same lines there. In each file, the lines between
`<<<<<<< before updating` and `=======` are yours, those down to `>>>>>>> after updating`
the new template's: keep what each side meant (often both), delete the three marker lines.
Then run the tests (pytest), `git add` the files and commit. `git diff` shows all the update
changed; `git grep -n '<<<<<<< before updating'` finds any marker left. The project's
README ("Updating from the template") says more."""


def release_of(ref: str) -> Version | None:
    """The release a recorded `_commit` is, or comes after: `v0.1.0` and `v0.1.0-3-gabc1234`
    (a commit 3 past the tag, as Copier records it) -> 0.1.0; None for a bare hash or HEAD."""
    match = re.fullmatch(r"(.+?)(?:-\d+-g[0-9a-f]+)?", ref)
    with contextlib.suppress(InvalidVersion):
        return Version(match.group(1)) if match else None
    return None


def changelog_entries(text: str, after: Version, upto: Version | None) -> list[str]:
    """The entries of a CHANGELOG.md (each from its `## X.Y.Z` heading to the next) newer than
    `after` and not newer than `upto` (None: the newest, unreleased ones included)."""
    entries = []
    for part in re.split(r"^(?=## )", text, flags=re.MULTILINE):
        heading = re.match(r"## (\S+)", part)
        if heading is None:
            continue
        with contextlib.suppress(InvalidVersion):
            version = Version(heading.group(1))
            if version > after and (upto is None or version <= upto):
                entries.append(part.rstrip())
    return entries


def what_it_brings(recorded_commit: str, template: Template) -> str:
    """The CHANGELOG entries between the project's release and the one `template` renders,
    as printed before an update ('' when there are none or no CHANGELOG says)."""
    changelog = template.root / "CHANGELOG.md"
    since = release_of(recorded_commit)
    if since is None or not changelog.is_file():
        return ""
    target = None if template.ref == "HEAD" else release_of(template.ref)
    entries = changelog_entries(changelog.read_text(), since, target)
    if not entries:
        return ""
    header = f"What updating from {recorded_commit} to {template.ref} brings (CHANGELOG.md):"
    return "\n\n".join([header, *entries]) + "\n\n"


def conflicted_files(dest: Path) -> list[str]:
    """Files under `dest` (outside .git) with a line starting with Copier's conflict marker."""
    found = []
    for folder, dirs, files in os.walk(dest):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                if any(line.startswith(CONFLICT_MARKER) for line in path.read_bytes().splitlines()):
                    found.append(str(path.relative_to(dest)))
    return found


def _refuse_missing(answers: dict[str, Any], root: Path) -> None:
    names = missing(answers, root)
    if names:
        raise Failure(
            f"no terminal to ask on, and no answer for: {', '.join(names)}",
            hint="pass --defaults to take copier.yml's defaults, or --data NAME=VALUE / --answers-file FILE",
        )


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="torch-template",
        description="Create or update a PyTorch training project from the torch-template Copier template.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)

    def answer_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--defaults",
            action="store_true",
            help="ask nothing: unanswered questions take copier.yml's defaults",
        )
        sub.add_argument(
            "--data",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="an answer (repeatable); VALUE is YAML for non-text questions, e.g. 'features=[amp, ema]'",
        )
        sub.add_argument("--answers-file", metavar="FILE", help="answers from a YAML file")
        sub.add_argument(
            "--vcs-ref",
            metavar="REF",
            help="the template git ref (default: the newest release tag; HEAD for the working tree)",
        )

    create = commands.add_parser("new", help="create a project in DEST")
    create.add_argument("dest", metavar="DEST")
    create.add_argument(
        "--template",
        metavar="SRC",
        help="template git URL or local clone (default: the repository holding this generator)",
    )
    answer_options(create)
    create.add_argument("--overwrite", action="store_true", help="render into a non-empty DEST")
    create.add_argument(
        "--no-detect",
        action="store_true",
        help="preselect copier.yml's defaults, not the hardware's",
    )
    refresh = commands.add_parser(
        "update", help="update a generated project (a clean git checkout) to a newer template"
    )
    refresh.add_argument("dest", metavar="DEST", nargs="?", default=".")
    answer_options(refresh)
    return main_parser


def main(argv: Sequence[str] | None = None, *, input: Any = None, output: Any = None) -> int:
    """The `torch-template` command. `input`/`output` (prompt_toolkit's) drive prompts in tests."""
    args = parser().parse_args(argv)
    interactive = not args.defaults and (input is not None or sys.stdin.isatty())
    ask = questionary_ask(input, output) if interactive else None
    command = new if args.command == "new" else update
    try:
        return command(args, ask)
    except Failure as failure:
        for line in failure.lines:
            print(f"error: {line}", file=sys.stderr)
        if failure.hint:
            print(f"hint: {failure.hint}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        if args.command == "new":
            print("\nInterrupted: nothing written.", file=sys.stderr)
        else:
            print(
                f"\nInterrupted: `git status` in {args.dest} shows what changed.", file=sys.stderr
            )
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
