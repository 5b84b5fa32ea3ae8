"""unidense registries: one child of every mmengine root registry, scope ``unidense``.

Every child names ``locations`` so that a config with ``default_scope='unidense'``
finds its components without manual imports: the first query of a registry
imports the listed sub-packages, whose modules register themselves.

Run ``python -m unidense.registry`` to list every registered component grouped
by kind.
"""
if __name__ == '__main__':
    # ``python -m unidense.registry`` runs this file as ``__main__``; creating
    # the registries here too would register a second ``unidense`` child
    # under each mmengine root, so hand over to the real module instead.
    from unidense.registry import main as _main
    _main()
    raise SystemExit(0)

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

_MODEL_LOCATIONS = ['unidense.models', 'unidense.diffusion']
_ENGINE_LOCATIONS = ['unidense.engine']

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS,
                   locations=_ENGINE_LOCATIONS)
RUNNER_CONSTRUCTORS = Registry('runner constructor',
                               parent=MMENGINE_RUNNER_CONSTRUCTORS,
                               locations=_ENGINE_LOCATIONS)
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=_ENGINE_LOCATIONS)
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=_ENGINE_LOCATIONS)
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES,
                      locations=_ENGINE_LOCATIONS)

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS,
                    locations=['unidense.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         locations=['unidense.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS,
                      locations=['unidense.datasets.transforms'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS,
                     locations=['unidense.datasets'])

MODELS = Registry('model', parent=MMENGINE_MODELS,
                  locations=_MODEL_LOCATIONS)
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          locations=_ENGINE_LOCATIONS)
WEIGHT_INITIALIZERS = Registry('weight initializer',
                               parent=MMENGINE_WEIGHT_INITIALIZERS,
                               locations=_MODEL_LOCATIONS)
# Pipelines register task utilities too (e.g. ``DepthEnsemble``).
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS,
                      locations=_MODEL_LOCATIONS + ['unidense.pipelines'])

OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS,
                      locations=_ENGINE_LOCATIONS)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                          locations=_ENGINE_LOCATIONS)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=_ENGINE_LOCATIONS)
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=_ENGINE_LOCATIONS)

METRICS = Registry('metric', parent=MMENGINE_METRICS,
                   locations=['unidense.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR,
                     locations=['unidense.evaluation'])

VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                       locations=['unidense.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS,
                       locations=['unidense.visualization'])
LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS,
                          locations=_ENGINE_LOCATIONS)
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS,
                       locations=['unidense.apis'])

# Diffusion noise schedulers are plain objects, not nn.Modules, and have no
# mmengine root; like mmagic we keep them in a registry of their own.
DIFFUSION_SCHEDULERS = Registry('diffusion scheduler',
                                locations=['unidense.diffusion'])

ALL_REGISTRIES = dict(
    RUNNERS=RUNNERS, RUNNER_CONSTRUCTORS=RUNNER_CONSTRUCTORS, LOOPS=LOOPS,
    HOOKS=HOOKS, STRATEGIES=STRATEGIES, DATASETS=DATASETS,
    DATA_SAMPLERS=DATA_SAMPLERS, TRANSFORMS=TRANSFORMS, FUNCTIONS=FUNCTIONS,
    MODELS=MODELS, MODEL_WRAPPERS=MODEL_WRAPPERS,
    WEIGHT_INITIALIZERS=WEIGHT_INITIALIZERS, TASK_UTILS=TASK_UTILS,
    OPTIMIZERS=OPTIMIZERS, OPTIM_WRAPPERS=OPTIM_WRAPPERS,
    OPTIM_WRAPPER_CONSTRUCTORS=OPTIM_WRAPPER_CONSTRUCTORS,
    PARAM_SCHEDULERS=PARAM_SCHEDULERS, METRICS=METRICS, EVALUATOR=EVALUATOR,
    VISUALIZERS=VISUALIZERS, VISBACKENDS=VISBACKENDS,
    LOG_PROCESSORS=LOG_PROCESSORS, INFERENCERS=INFERENCERS,
    DIFFUSION_SCHEDULERS=DIFFUSION_SCHEDULERS)

# Kinds shown by ``python -m unidense.registry``: the sub-package a MODELS
# entry lives in says what it is (backbone, fusion, ...).
_MODEL_KINDS = ('backbones', 'fusions', 'necks', 'heads', 'losses',
                'estimators', 'pretrainers', 'data_preprocessors')


def import_all_locations():
    """Import every registry's ``locations`` so that listings are complete."""
    for registry in ALL_REGISTRIES.values():
        registry.import_from_location()


def registered_components():
    """Return ``{kind: sorted list of names}`` over all unidense registries.

    MODELS entries are split by sub-package into backbone, fusion, neck, head,
    loss, estimator and data_preprocessor; diffusers/transformers wrappers
    from ``unidense.diffusion`` form the kind ``diffusion``.
    """
    import_all_locations()
    kinds = {}

    def add(kind, name):
        kinds.setdefault(kind, set()).add(name)

    for name, obj in MODELS.module_dict.items():
        module = getattr(obj, '__module__', '') or ''
        kind = 'model'
        for sub in _MODEL_KINDS:
            if f'.{sub}.' in module or module.endswith(f'.{sub}'):
                kind = sub.rstrip('s') if sub != 'losses' else 'loss'
                break
        if module.startswith('unidense.diffusion'):
            kind = 'diffusion'
        add(kind, name)
    simple = dict(dataset=DATASETS, transform=TRANSFORMS, metric=METRICS,
                  hook=HOOKS, loop=LOOPS, evaluator=EVALUATOR,
                  scheduler=DIFFUSION_SCHEDULERS, sampler=DATA_SAMPLERS,
                  model_wrapper=MODEL_WRAPPERS, optim_wrapper=OPTIM_WRAPPERS,
                  optimizer=OPTIMIZERS, param_scheduler=PARAM_SCHEDULERS,
                  visualizer=VISUALIZERS, vis_backend=VISBACKENDS,
                  function=FUNCTIONS, task_util=TASK_UTILS,
                  runner=RUNNERS, inferencer=INFERENCERS)
    for kind, registry in simple.items():
        for name in registry.module_dict:
            add(kind, name)
    return {k: sorted(v) for k, v in sorted(kinds.items())}


# Kinds always listed (even when empty), in this order; others follow.
MAIN_KINDS = ('backbone', 'fusion', 'neck', 'head', 'estimator', 'loss',
              'dataset', 'transform', 'metric', 'hook', 'loop')


def format_components(components):
    """Text listing of ``registered_components()``: main kinds first."""
    lines = []
    order = list(MAIN_KINDS) + [k for k in components if k not in MAIN_KINDS]
    for kind in order:
        names = components.get(kind, [])
        lines.append(f'{kind} ({len(names)}):')
        lines.extend(f'  {name}' for name in names)
    return '\n'.join(lines)


def main():
    print(format_components(registered_components()))

