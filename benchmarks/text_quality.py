"""`python -m benchmarks.text_quality`: learning quality of the generated projects' defaults
against scikit-learn baselines on the same split, written to RESULTS.md's quality table.

- text: a 6-class set of real documents built from what is installed here, nothing
  downloaded: the docstrings of numpy, pandas, torch, matplotlib and two parts of the
  standard library (asyncio; email, http and urllib), each labelled with its source. The
  baseline is TF-IDF over word uni- and bigrams + logistic regression.
- tabular and images: the projects' own sample data, against logistic regression on the
  standardized columns or the raw pixels, so a change for text cannot quietly hurt them.

Each project is rendered with default answers and trained with overrides only
(`data.path`, `data.val_path`, `train.epochs`, `train.device=cpu`); its accuracy is
`metrics.json`'s (the best checkpoint's) on the same validation rows as the baseline's.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])
DOC_CHARS = 400
"""Each document: a docstring's first characters (short and medium texts)."""
PER_CLASS = 700
"""At most this many documents per class, drawn at random."""


def _package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not installed here; the text set needs it")
    return Path(spec.origin).parent


def _docstrings(folders: Sequence[Path]) -> list[str]:
    texts = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if "test" in path.parts or "tests" in path.parts:
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module
                ):
                    doc = ast.get_docstring(node)
                    if doc and len(doc) >= 60:
                        texts.append(" ".join(doc[:DOC_CHARS].split()))
    return sorted(set(texts))


def text_set(seed: int = 0) -> pd.DataFrame:
    """Documents labelled with the library they document; the same rows on every run."""
    numpy, pandas, torch = _package_dir("numpy"), _package_dir("pandas"), _package_dir("torch")
    sources = {  # parts of the big packages: parsing all of torch takes minutes
        "numpy": [
            numpy / "lib",
            numpy / "_core",
            numpy / "linalg",
            numpy / "ma",
            numpy / "polynomial",
        ],
        "pandas": [pandas / "core"],
        "torch": [torch / "nn", torch / "optim", torch / "distributions", torch / "utils" / "data"],
        "matplotlib": [_package_dir("matplotlib")],
        "asyncio": [STDLIB / "asyncio", STDLIB / "concurrent"],
        "web_email": [STDLIB / "email", STDLIB / "http", STDLIB / "urllib"],
    }
    rng = np.random.default_rng(seed)
    frames = []
    for label, folders in sources.items():
        texts = _docstrings(folders)
        chosen = rng.permutation(len(texts))[:PER_CLASS]
        frames.append(pd.DataFrame({"text": [texts[i] for i in chosen], "target": label}))
    return pd.concat(frames, ignore_index=True)


def split(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded 80/20 split, rows shuffled (the training file's order carries no label)."""
    rows = np.random.default_rng(seed).permutation(len(frame))
    n_val = len(frame) // 5
    return frame.iloc[rows[n_val:]], frame.iloc[rows[:n_val]]


def tfidf_logistic(train: pd.DataFrame, val: pd.DataFrame) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    features = vectorizer.fit_transform(train["text"])
    model = LogisticRegression(C=10.0, max_iter=2000).fit(features, train["target"])
    return float((model.predict(vectorizer.transform(val["text"])) == val["target"]).mean())


def majority(train: pd.DataFrame, val: pd.DataFrame) -> float:
    return float((val["target"] == train["target"].mode()[0]).mean())


def rendered(answers: dict[str, object], dst: Path) -> Path:
    """The project rendered from this working tree at `dst` (kept if there: `--work` reuses it)."""
    if not (dst / "src").is_dir():
        from benchmarks.project import render_project

        render_project(answers, dst)
    return dst


def train_project(
    project: Path, train: Path, val: Path, overrides: Sequence[str], out: Path
) -> dict[str, object]:
    """Train the project in a process of its own; its metrics.json."""
    package = next(p.name for p in (project / "src").iterdir() if p.is_dir())
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    command = [
        sys.executable, "-m", package, "train", "--overwrite",
        f"data.path={train}", f"data.val_path={val}", f"out_dir={out}", "train.device=cpu",
        *overrides,
    ]  # fmt: skip
    subprocess.run(command, check=True, env=env, cwd=project, stdout=subprocess.DEVNULL)
    return json.loads((out / "metrics.json").read_text())


def text_rows(
    work: Path, epochs: int, model_overrides: dict[str, list[str]]
) -> list[dict[str, object]]:
    train_path, val_path = work / "text_train.csv", work / "text_val.csv"
    if not val_path.is_file():  # parsing every installed docstring takes a minute
        train, val = split(text_set())
        train.to_csv(train_path, index=False)
        val.to_csv(val_path, index=False)
    train, val = pd.read_csv(train_path), pd.read_csv(val_path)
    frame = pd.concat([train, val])
    project = rendered({"input_kind": "text"}, work / "text")
    described = f"{len(frame)} docstrings, {frame['target'].nunique()} classes"
    rows: list[dict[str, object]] = [
        {"set": "text", "data": described, "model": "majority class", "accuracy": majority(train, val)},
        {"set": "text", "data": described, "model": "TF-IDF 1-2-grams + logistic regression",
         "accuracy": tfidf_logistic(train, val)},
    ]  # fmt: skip
    for name, overrides in model_overrides.items():
        out = work / f"run-{name.replace(' ', '-')}"
        overrides = [f"train.epochs={epochs}", *overrides]
        metrics = train_project(project, train_path, val_path, overrides, out)
        rows.append({"set": "text", "data": described, "model": name, "accuracy": metrics["accuracy"],
                     "best_epoch": metrics["best_epoch"], "seconds": metrics["train_time_s"]})  # fmt: skip
    return rows


def tabular_rows(work: Path, epochs: int) -> list[dict[str, object]]:
    """The tabular project's default on its own sample data (8000 rows) against logistic
    regression on standardized numbers and one-hot categories, on the same split."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    project = rendered({}, work / "tabular")
    sys.path.insert(0, str(project / "src"))
    package = next(p.name for p in (project / "src").iterdir() if p.is_dir())
    sample = __import__(f"{package}.sample_data", fromlist=["make_sample_frame"])
    frame = sample.make_sample_frame(rows=8000, seed=0)
    train, val = split(frame)
    train_path, val_path = work / "tabular_train.csv", work / "tabular_val.csv"
    train.to_csv(train_path, index=False)
    val.to_csv(val_path, index=False)
    features = [c for c in frame.columns if c != "target"]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), [c for c in features if c not in numeric]),
    )
    baseline = make_pipeline(columns, LogisticRegression(max_iter=2000))
    baseline.fit(train[features], train["target"])
    accuracy = float((baseline.predict(val[features]) == val["target"]).mean())
    metrics = train_project(
        project, train_path, val_path, [f"train.epochs={epochs}"], work / "run-tabular"
    )
    described = f"sample data, {len(frame)} rows, {frame['target'].nunique()} classes"
    return [
        {"set": "tabular", "data": described, "model": "majority class", "accuracy": majority(train, val)},
        {"set": "tabular", "data": described, "model": "logistic regression", "accuracy": accuracy},
        {"set": "tabular", "data": described, "model": "project default", "accuracy": metrics["accuracy"],
         "best_epoch": metrics["best_epoch"], "seconds": metrics["train_time_s"]},
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_quality")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", action="append", default=[], help="NAME=override,override")
    parser.add_argument("--only", choices=["text", "tabular"], help="one set only")
    parser.add_argument("--work", type=Path, help="keep data, projects and runs here (reused)")
    args = parser.parse_args(argv)
    models = {"project default": []}
    for spec in args.model:
        name, _, overrides = spec.partition("=")
        models[name] = [o for o in overrides.split(",") if o]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        if args.only in (None, "text"):
            rows += text_rows(work, args.epochs, models)
        if args.only in (None, "tabular"):
            rows += tabular_rows(work, args.epochs)
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
