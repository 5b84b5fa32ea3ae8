from .base_dense_estimator import BaseDenseEstimator  # noqa: F401
from .merge import MERGE  # noqa: F401
from .diffusion_perceptor import DiffusionPerceptor  # noqa: F401
from .jointnet import JointNet  # noqa: F401
from .self_improving import SelfImprovingEstimator  # noqa: F401
from .generation_evaluator import GenerationEvaluator  # noqa: F401
from .one_step_estimator import OneStepEstimator  # noqa: F401
