"""Every classifier and regressor scikit-learn lists can be selected by name, trained, stored and loaded.

Each one is fitted on a small sample (48 rows) of breast cancer or diabetes.
None is skipped. Estimators that have a required constructor argument cannot
be built with defaults and get it through ``params`` (listed in ``NEEDS``);
a few need a parameter for this data (``FOR_THIS_DATA``).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.naive_bayes import GaussianNB

import mlbridge
from mlbridge.estimators import available_estimators, snake_case
from orbitstore.store import OrbitStore
from tests.mlbridge.conftest import cancer_rows, diabetes_rows, load_table

ESTIMATORS = available_estimators()
CLASSIFY = GaussianNB()
REGRESS = Ridge()

#: Required constructor arguments: these cannot be built with defaults.
NEEDS: dict[str, dict[str, Any]] = {
    "ClassifierChain": {"estimator": CLASSIFY},
    "FixedThresholdClassifier": {"estimator": CLASSIFY},
    "MultiOutputClassifier": {"estimator": CLASSIFY},
    "MultiOutputRegressor": {"estimator": REGRESS},
    "OneVsOneClassifier": {"estimator": CLASSIFY},
    "OneVsRestClassifier": {"estimator": CLASSIFY},
    "OutputCodeClassifier": {"estimator": CLASSIFY},
    "RegressorChain": {"estimator": REGRESS},
    "SelfTrainingClassifier": {"estimator": CLASSIFY},  # builds with defaults, but fit needs an estimator
    "StackingClassifier": {"estimators": [("lr", CLASSIFY)]},
    "StackingRegressor": {"estimators": [("ridge", REGRESS)]},
    "TunedThresholdClassifierCV": {"estimator": CLASSIFY},
    "VotingClassifier": {"estimators": [("lr", CLASSIFY)]},
    "VotingRegressor": {"estimators": [("ridge", REGRESS)]},
}
#: Defaults that do not suit one target column or this data.
FOR_THIS_DATA: dict[str, dict[str, Any]] = {
    "CCA": {"n_components": 1},  # at most one component for one target
    "PLSCanonical": {"n_components": 1},
    "CategoricalNB": {"min_categories": 5000},  # float features read as category codes up to ~2,500
    "IsotonicRegression": {"out_of_bounds": "clip"},  # NaN outside the training range otherwise
    "LabelPropagation": {"kernel": "knn"},  # the RBF affinities of unscaled features are all zero
    "LabelSpreading": {"kernel": "knn"},
    # silences announced changes of defaults:
    "LogisticRegressionCV": {"l1_ratios": (0.0,), "scoring": "accuracy", "use_legacy_attributes": False, "Cs": 2},
    "QuadraticDiscriminantAnalysis": {"solver": "eigen", "shrinkage": 0.9},  # 30 collinear features, few rows
    "RadiusNeighborsClassifier": {"radius": 1e4, "outlier_label": "most_frequent"},  # unscaled features
    "RadiusNeighborsRegressor": {"radius": 1e4},
}
SMALL = {"n_estimators": 3}
NUMERIC_LABELS = {"ClassifierChain"}  # chains feed labels back as features: a bool target here
ONE_FEATURE = {"IsotonicRegression"}  # fits one feature only


def test_the_list_is_scikit_learns() -> None:
    assert len(ESTIMATORS) >= 90
    assert "RandomForestClassifier" in ESTIMATORS and "RandomForestRegressor" in ESTIMATORS
    assert snake_case("MLPRegressor") == "mlp_regressor"
    assert snake_case("HistGradientBoostingClassifier") == "hist_gradient_boosting_classifier"
    assert set(NEEDS) | set(FOR_THIS_DATA) <= set(ESTIMATORS)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
async def test_every_estimator_trains_by_name(store: OrbitStore, name: str) -> None:
    with warnings.catch_warnings():
        # Filtered here only: some estimators do not converge on 36 unscaled training rows; scikit-learn
        # announces that the PassiveAggressive* classes are deprecated; the semi-supervised
        # SelfTrainingClassifier notes that every label is known. None of this is what the test is about.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=r"Class PassiveAggressive\w+ is deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message="y contains no unlabeled samples", category=UserWarning)
        await _train_one(store, name)


async def _train_one(store: OrbitStore, name: str) -> None:
    cls = ESTIMATORS[name]
    params = {**NEEDS.get(name, {}), **FOR_THIS_DATA.get(name, {})}
    probe = cls(**params)
    classifier = is_classifier(probe)
    if "n_estimators" in probe.get_params():
        params.update(SMALL)
    columns, rows = cancer_rows() if classifier else diabetes_rows()
    target = "diagnosis" if classifier else "progression"
    if name in NUMERIC_LABELS:
        columns = {**{k: v for k, v in columns.items() if k != target}, "malignant": "bool"}
        rows = [{**{k: v for k, v in r.items() if k != target}, "malignant": r[target] == "malignant"} for r in rows]
        target = "malignant"
    table = await load_table(store, "sample", columns, rows[::9][:48], target=target, first=48)
    features = None
    if name in ONE_FEATURE:
        features = ["mean radius"] if classifier else ["bmi"]
    spelling = snake_case(name) if len(name) % 2 else name  # both spellings are exercised across the list
    result = await mlbridge.train(
        table.snapshot, store=store, estimator=spelling, params=params, cv=0, features=features, register=False
    )
    assert type(result.estimator) is cls
    loaded = await mlbridge.load(result.card_cid, store=store)
    answer = await loaded.predict([{k: v for k, v in r.items() if k != target} for r in rows[:3]])
    assert len(answer.values) == 3
    assert result.card.task == ("classification" if classifier else "regression")
    assert result.card.metrics["holdout"]
