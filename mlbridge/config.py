"""mlbridge defaults, in one place (constants only: every function takes them as keyword options)."""

from __future__ import annotations

__all__ = [
    "CARD_TYPE",
    "CARD_VERSION",
    "CHUNK_BYTES",
    "DEFAULT_ESTIMATOR",
    "ENCODINGS",
    "MODEL_TYPE",
    "PREDICTION_LOG_NAME",
    "PROBE_ROWS",
    "REGISTRY_NAME",
    "TRUSTED_TYPES",
]

#: The estimator used when none is named (the original proposal's choice).
DEFAULT_ESTIMATOR = "random_forest"

#: Model files are cut into raw blocks of at most this many bytes (1 MiB).
CHUNK_BYTES = 1 << 20

#: ``type`` and ``v`` of the DAG-CBOR blocks mlbridge writes.
CARD_TYPE = "model-card"
CARD_VERSION = 1
MODEL_TYPE = "model"

#: Rows of the snapshot (evenly spaced, deterministic) whose predictions fingerprint a model.
PROBE_ROWS = 64

#: Category encodings a feature may use.
ENCODINGS = ("ordinal", "onehot")

#: The documents database that holds the model registry (one document per model card).
REGISTRY_NAME = "mlbridge-models"

#: The dataset database that holds the prediction log (one record per request and result).
PREDICTION_LOG_NAME = "mlbridge-predictions"

#: Types that skops does not trust by default but that scikit-learn's own estimators are made of
#: (found by fitting and saving every classifier and regressor scikit-learn lists; see tests/mlbridge).
#: Loading refuses any other untrusted type (:class:`~orbitstore.errors.ModelError` names them);
#: callers may widen the list explicitly with ``trusted=``.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn._loss.loss.AbsoluteError",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfGammaLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfPoissonLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.loss.HalfTweedieLoss",
        "sklearn._loss.loss.HalfTweedieLossIdentity",
        "sklearn._loss.loss.HuberLoss",
        "sklearn._loss.loss.PinballLoss",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        "sklearn.gaussian_process.kernels.ConstantKernel",
        "sklearn.gaussian_process.kernels.DotProduct",
        "sklearn.gaussian_process.kernels.Exponentiation",
        "sklearn.gaussian_process.kernels.ExpSineSquared",
        "sklearn.gaussian_process.kernels.Matern",
        "sklearn.gaussian_process.kernels.PairwiseKernel",
        "sklearn.gaussian_process.kernels.Product",
        "sklearn.gaussian_process.kernels.RationalQuadratic",
        "sklearn.gaussian_process.kernels.RBF",
        "sklearn.gaussian_process.kernels.Sum",
        "sklearn.gaussian_process.kernels.WhiteKernel",
        "sklearn.metrics._classification.balanced_accuracy_score",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.metrics._scorer._CurveScorer",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.multiclass._ConstantPredictor",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.tree._tree.Tree",
        "sklearn.utils._bunch.Bunch",
        "sklearn.utils._metadata_requests.MetadataRequest",
        "sklearn.utils._metadata_requests.MethodMetadataRequest",
    }
)
