"""mlbridge: train scikit-learn models over dataset snapshots, with verifiable provenance and safe model files.

::

    import mlbridge

    snap = await db.snapshot()                                   # a frozen dataset version
    result = await mlbridge.train(snap, store=store)             # Random Forest, target from the schema
    print(result.card.metrics["holdout"], result.card_cid)
    answer = await mlbridge.predict(result.card_cid, [{"age": 54, "bmi": 27.1}], store=store)
    report = await mlbridge.verify(result.card_cid, store=store)  # model → card → snapshot → records
    again = await mlbridge.reproduce(result.card_cid, store=store)
    newer = await mlbridge.update(result.card_cid, await db.snapshot(), store=store)

See ``docs/mlbridge.md``.
"""

from mlbridge.artifacts import dumps_model, load_model, read_model_bytes, store_model, untrusted_types
from mlbridge.card import Delta, Fingerprint, ModelCard, anchor_card, load_card
from mlbridge.config import DEFAULT_ESTIMATOR, PREDICTION_LOG_NAME, REGISTRY_NAME, TRUSTED_TYPES
from mlbridge.estimators import available_estimators, make_estimator
from mlbridge.features import Feature, FeatureSpec, Target, batches, scan_spec
from mlbridge.frame import iter_frames, to_frame
from mlbridge.incremental import update
from mlbridge.prediction import LoadedModel, Prediction, PredictionLog, load, predict
from mlbridge.provenance import Check, VerifyReport, verify
from mlbridge.registry import ModelEntry, Registry
from mlbridge.reproduction import ReproduceResult, reproduce
from mlbridge.training import TrainResult, train

__all__ = [
    "DEFAULT_ESTIMATOR",
    "PREDICTION_LOG_NAME",
    "REGISTRY_NAME",
    "TRUSTED_TYPES",
    "Check",
    "Delta",
    "Feature",
    "FeatureSpec",
    "Fingerprint",
    "LoadedModel",
    "ModelCard",
    "ModelEntry",
    "Prediction",
    "PredictionLog",
    "Registry",
    "ReproduceResult",
    "Target",
    "TrainResult",
    "VerifyReport",
    "anchor_card",
    "available_estimators",
    "batches",
    "dumps_model",
    "iter_frames",
    "load",
    "load_card",
    "load_model",
    "make_estimator",
    "predict",
    "read_model_bytes",
    "reproduce",
    "scan_spec",
    "store_model",
    "to_frame",
    "train",
    "untrusted_types",
    "update",
    "verify",
]
