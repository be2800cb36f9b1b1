"""The GPU check's prepare half: render the CUDA combinations and fetch the missing wheels.

Runs where copier, the generator and the network are (`python -m benchmarks.gpu prepare DIR`);
DIR then holds everything `run_gpu_check.py` needs on a GPU machine that has torch and its
usual companions but not copier, torchao, torchcodec or pytest-xdist, and no network.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from benchmarks.machine import git_revision
from benchmarks.project import IMAGES, ROOT, TABULAR

RUN_SCRIPT = Path(__file__).resolve().parent / "run_gpu_check.py"
ALL_FEATURES = [
    *("amp", "compile", "grad_checkpointing", "ema", "early_stopping", "auto_batch_size"),
    *("profiling", "tensorboard", "export", "quantization"),
]
COMBINATIONS: dict[str, dict[str, Any]] = {
    "gpu-images": {
        "data_format": "images",
        "hardware": "cuda",
        "distributed": True,
        "features": ["amp", "compile"],
    },
    "gpu-tabular": {"hardware": "cuda", "features": ALL_FEATURES},
    "gpu-text": {"input_kind": "text", "hardware": "cuda", "features": ["amp"]},
    # The pretrained backbones join here once the template has them.
}
"""The combinations that matter for CUDA, by project name (each its own package, so that all
install side by side into one environment)."""
BENCH_PROJECTS = {"tabular": TABULAR, "images": IMAGES}
"""The projects `benchmarks.worker` imports for steps-* and image-pipeline (default name)."""
WHEELS = [
    ("torchao", None),  # the quantization feature's dependency
    ("torchcodec", None),  # the images' decoders (the project falls back to Pillow without)
    ("pytest-xdist", None),  # the suites on every core
    ("execnet", None),  # pytest-xdist's own dependency
    ("setuptools", "77"),  # `license = "MIT"` (PEP 639) needs 77; installed only if older
]
"""(distribution, minimum version) of the wheels the GPU machine lacks, fetched --no-deps at
the version installed here (torchao and torchcodec are built against this torch)."""
MAX_BYTES = 60 * 2**20


def download_wheels(dest: Path, python: str) -> list[dict[str, str]]:
    """`pip download --no-deps` of each wheel, pinned to the version `python` has installed."""
    dest.mkdir(parents=True, exist_ok=True)
    found = []
    for distribution, minimum in WHEELS:
        version = installed_in(python, distribution)
        spec = f"{distribution}=={version}" if version else distribution
        before = set(dest.iterdir())
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(dest),
                spec,
            ],
            check=True,
        )
        new = sorted(set(dest.iterdir()) - before) or sorted(
            dest.glob(f"{distribution.replace('-', '_')}-{version}-*.whl")
        )
        if not new:
            raise RuntimeError(f"pip download {spec}: no wheel in {dest}")
        version = version or new[0].name.split("-")[1]
        entry = {"name": distribution, "version": version, "file": new[0].name}
        if minimum is not None:
            entry["min_version"] = minimum
        found.append(entry)
        print(f"  wheel {new[0].name}", flush=True)
    return found


def installed_in(python: str, distribution: str) -> str | None:
    code = (
        "import sys\nfrom importlib import metadata\n"
        "try: print(metadata.version(sys.argv[1]))\nexcept metadata.PackageNotFoundError: pass"
    )
    result = subprocess.run([python, "-c", code, distribution], capture_output=True, text=True)
    return result.stdout.strip() or None


def render_all(dest: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The CUDA combinations into dest/projects/, the benchmark projects into dest/bench/."""
    warnings.filterwarnings("ignore", "Dirty template changes")  # copier: uncommitted edits
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from generator.render import render

    projects = []
    for name, answers in COMBINATIONS.items():
        full = {"project_name": name, **answers}
        render(full, dest / "projects" / name)
        kind = "images" if answers.get("data_format") == "images" else "tabular"
        projects.append(
            {
                "name": name,
                "package": name.replace("-", "_"),  # copier.yml's default package_name
                "input_type": answers.get("input_kind", kind),
                "answers": answers,
                "path": f"projects/{name}",
            }
        )
        print(f"  rendered projects/{name}", flush=True)
    bench = {}
    for kind, answers in BENCH_PROJECTS.items():
        render(answers, dest / "bench" / kind)
        bench[kind] = f"bench/{kind}"
        print(f"  rendered bench/{kind}", flush=True)
    return projects, bench


def copy_benchmarks(dest: Path) -> None:
    """The `benchmarks` package (the workers the run calls) and the run script."""
    source = ROOT / "benchmarks"
    shutil.copytree(
        source,
        dest / "benchmarks",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "RESULTS.md"),
    )
    shutil.copy2(RUN_SCRIPT, dest / "run_gpu_check.py")


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def prepare(dest: Path, python: str | None = None) -> dict[str, Any]:
    """Fill `dest` (emptied first); its manifest. `python`: the interpreter whose torch the
    wheels must match (default: this one)."""
    python = python or sys.executable
    dest = dest.resolve()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    print(f"preparing {dest}", flush=True)
    # Rendered outside `dest` first: copier renders this repository's working tree, untracked
    # files included, and `dest` is often inside it (gpucheck/ at the root).
    with tempfile.TemporaryDirectory(prefix="gpucheck-render-") as staging:
        projects, bench = render_all(Path(staging))
        for name in ("projects", "bench"):
            shutil.move(str(Path(staging) / name), dest / name)
    wheels = download_wheels(dest / "wheels", python)
    copy_benchmarks(dest)
    manifest = {
        "prepared": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "revision": git_revision(ROOT),
            "torch": installed_in(python, "torch"),
            "python": subprocess.run(
                [python, "-c", "import platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
            ).stdout.strip(),
        },
        "projects": projects,
        "bench": bench,
        "wheels": wheels,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    size = folder_bytes(dest)
    print(f"prepared {dest}: {size / 2**20:.1f} MiB", flush=True)
    if size > MAX_BYTES:
        raise RuntimeError(f"{dest} holds {size / 2**20:.1f} MiB, over {MAX_BYTES / 2**20:.0f}")
    return manifest
