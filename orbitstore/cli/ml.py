"""``orbitstore ml …``: train models on dataset snapshots, predict, and check where a model came from.

Each command calls the :class:`~orbitstore.api.StoreAPI` method it is named
after (``ml train`` → ``train``, ``ml card`` → ``model_card``, ``ml verify`` →
``verify_model``…). A model is named by its card CID, as ``ml train`` prints it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click

from orbitstore.api import ModelInfo, Predictions, ProvenanceReport, ReproduceResult
from orbitstore.cli._common import CONTEXT, connect, emit, parse_json, run, show

__all__ = ["ml"]

T = TypeVar("T")


@asynccontextmanager
async def _working(label: str) -> AsyncIterator[None]:
    """Say what runs on stderr; on a terminal, count the seconds until it is done."""
    if not sys.stderr.isatty():
        click.echo(f"{label}…", err=True)
        yield
        return
    start = time.monotonic()

    async def tick() -> None:
        while True:
            click.echo(f"\r{label}… {time.monotonic() - start:.0f}s", err=True, nl=False)
            await asyncio.sleep(1)

    ticker = asyncio.create_task(tick())
    try:
        yield
    finally:
        ticker.cancel()
        await asyncio.wait([ticker])
        click.echo(f"\r{label}: {time.monotonic() - start:.1f}s", err=True)


async def _timed(label: str, call: Awaitable[T]) -> T:
    async with _working(label):
        return await call


def _short(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _metrics(metrics: dict[str, float | None]) -> str:
    shown = (f"{k} {v:.4f}" if v is not None else f"{k} —" for k, v in sorted(metrics.items()))
    return "  ".join(shown) or "no metrics"


@click.group(context_settings=CONTEXT)
def ml() -> None:
    """Train models on dataset snapshots, predict, and check where a model came from.

    A model is named by its card CID (the signed model card: snapshot,
    estimator, parameters, seed, metrics, trainer), as `ml train` prints it.

    \b
    Example:
      orbitstore ml train patients --target diagnosis --anchor
      orbitstore ml predict zdpu... '{"age": 54, "bmi": 27.1}'
      orbitstore ml verify zdpu...
    """


@ml.command("estimators", context_settings=CONTEXT)
@click.option("--task", type=click.Choice(["classification", "regression"]), default=None, help="only those")
@run
async def ml_estimators(task: str | None) -> None:
    """List the estimator names `ml train --estimator` accepts.

    Short names (random_forest, extra_trees, k_neighbors…) pick the classifier
    or the regressor by the target's type; then every class name.

    \b
    Example:
      orbitstore ml estimators --task classification
    """
    async with connect() as api:
        found = [e for e in await api.estimators() if task is None or e.task in (task, "either")]

    def human(items: Any) -> str:
        lines = []
        for e in items:
            notes = [n for n, on in (("needs params", e.needs_params), ("deprecated", e.deprecated)) if on]
            lines.append(f"{e.name:<36} {e.task:<15} {', '.join(notes)}".rstrip())
        return "\n".join(lines)

    emit(found, human)


def _param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="--param")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def _model_lines(m: ModelInfo) -> str:
    lines = [
        f"trained {_short(m.estimator)} v{m.version} on {m.dataset} (target {m.target}, {m.task})",
        f"card      {m.card}",
        f"model     {m.model}",
        f"snapshot  {m.snapshot}",
    ]
    if m.anchor:
        lines.append(f"anchor    {m.anchor}")
    lines.append(f"holdout   {_metrics(m.metrics)}")
    return "\n".join(lines)


@ml.command("train", context_settings=CONTEXT)
@click.argument("db_ref", metavar="[DB]", required=False)
@click.option("--snapshot", default=None, metavar="CID", help="train on this snapshot instead of a new one of DB")
@click.option("--target", default=None, help="the column to predict (default: the schema's target)")
@click.option("--estimator", default="random_forest", show_default=True, help="a name from `ml estimators`")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="estimator parameter (repeat)")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1), help="random state")
@click.option(
    "--test-size", default=0.25, show_default=True, type=click.FloatRange(0, 1, max_open=True),
    help="holdout fraction",
)  # fmt: skip
@click.option("--cv", default=5, show_default=True, type=click.IntRange(0, 100), help="folds; 0: none")
@click.option("--anchor", is_flag=True, help="anchor the snapshot first; the card links the receipt")
@run
async def ml_train(
    db_ref: str | None,
    snapshot: str | None,
    target: str | None,
    estimator: str,
    params: tuple[str, ...],
    seed: int,
    test_size: float,
    cv: int,
    anchor: bool,
) -> None:
    """Train a model on a new snapshot of dataset DB (or on --snapshot); print its card CID and metrics.

    The model is stored, its card signed by this node's identity, and it is
    registered under the dataset (`ml models`). The same snapshot, estimator,
    parameters and seed give the same model file.

    \b
    Example:
      orbitstore ml train patients --target diagnosis --param n_estimators=200 --anchor
      orbitstore ml train --snapshot zdpu... --estimator extra_trees --seed 7
    """
    if (db_ref is None) == (snapshot is None):
        raise click.UsageError("give a dataset DB or --snapshot CID (one of them)")
    options = dict(_param(p) for p in params)
    async with connect() as api:
        model = await _timed(
            f"training {estimator} on {db_ref or snapshot}",
            api.train(
                db_ref,
                snapshot=snapshot,
                target=target,
                estimator=estimator,
                params=options or None,
                seed=seed,
                test_size=test_size,
                cv=cv,
                anchor=anchor,
            ),
        )
    emit(model, _model_lines)


@ml.command("models", context_settings=CONTEXT)
@click.argument("db_ref", metavar="[DB]", required=False)
@run
async def ml_models(db_ref: str | None) -> None:
    """List registered models, oldest first, optionally only those of dataset DB.

    \b
    Example:
      orbitstore ml models patients
    """
    async with connect() as api:
        found = await api.models(db_ref)

    def human(ms: list[ModelInfo]) -> str:
        lines = [f"v{m.version:<3} {m.card}  {_short(m.estimator):<28} {_metrics(m.metrics)}" for m in ms]
        return "\n".join(lines) or "no models"

    emit(found, human)


@ml.command("card", context_settings=CONTEXT)
@click.argument("model")
@run
async def ml_card(model: str) -> None:
    """Show MODEL's card as Markdown (--json: the signed card itself).

    The card says which snapshot (dataset version) the model learnt from, its
    anchor, the estimator and parameters, the seed, metrics, library versions
    and the trainer's identity.

    \b
    Example:
      orbitstore ml card zdpu...
      orbitstore --json ml card zdpu...
    """
    async with connect() as api:
        card = await api.model_card(model)
    emit(card, lambda c: c.markdown.rstrip())


def _prediction_lines(p: Predictions) -> str:
    lines = []
    for i, value in enumerate(p.values):
        line = show(value)
        if p.classes is not None and p.probabilities is not None:
            odds = ", ".join(f"{show(c)} {q:.3f}" for c, q in zip(p.classes, p.probabilities[i], strict=False))
            line += f"  ({odds})"
        lines.append(line)
    if p.logged:
        lines.append(f"logged as {p.logged}")
    return "\n".join(lines)


@ml.command("predict", context_settings=CONTEXT)
@click.argument("model")
@click.argument("rows")
@click.option("--proba", is_flag=True, help="classifiers: each class's probability too")
@click.option("--log", is_flag=True, help="record the request in the node's prediction log")
@run
async def ml_predict(model: str, rows: str, proba: bool, log: bool) -> None:
    """Predict with MODEL for ROWS (a JSON object or array of objects; - reads stdin); one line per row.

    \b
    Example:
      orbitstore ml predict zdpu... '{"age": 54, "bmi": 27.1}' --proba
      orbitstore ml predict zdpu... - < rows.json
    """
    value = parse_json(rows, "ROWS")
    batch = value if isinstance(value, list) else [value]
    if not batch or not all(isinstance(r, dict) for r in batch):
        raise click.BadParameter("ROWS must be an object or a non-empty array of objects", param_hint="ROWS")
    async with connect() as api:
        answer = await api.predict(model, batch, proba=proba, log=log)
    emit(answer, _prediction_lines)


@ml.command("reproduce", context_settings=CONTEXT)
@click.argument("model")
@run
async def ml_reproduce(model: str) -> None:
    """Retrain MODEL from its card (snapshot, split, seed) and compare; exit 1 unless it matches.

    A library version that differs from the card's is reported as such, never
    as a match.

    \b
    Example:
      orbitstore ml reproduce zdpu...
    """
    async with connect() as api:
        result = await _timed(f"retraining {model}", api.reproduce(model))

    def human(r: ReproduceResult) -> str:
        head = f"reproduced: {r.status}" if r.ok else f"NOT reproduced: {r.status}"
        return "\n".join([head, *(f"  {d}" for d in r.details)])

    emit(result, human)
    if not result.ok:
        raise SystemExit(1)


@ml.command("verify", context_settings=CONTEXT)
@click.argument("model")
@run
async def ml_verify(model: str) -> None:
    """Check MODEL's provenance chain, link by link; exit 1 when a link fails.

    model file → card (signature) → snapshot → records (every entry's
    signature) → training rows → anchor receipt (on this node's ledger).

    \b
    Example:
      orbitstore ml verify zdpu...
    """
    async with connect() as api:
        report = await _timed(f"checking the provenance of {model}", api.verify_model(model))

    def human(r: ProvenanceReport) -> str:
        lines = [f"{c.status:<4}  {c.name:<13}  {c.detail}" for c in r.checks]
        failed = r.failed
        lines.append("provenance verified" if r.ok else f"NOT verified: {failed.name if failed else 'incomplete'}")
        return "\n".join(lines)

    emit(report, human)
    if not report.ok:
        raise SystemExit(1)
