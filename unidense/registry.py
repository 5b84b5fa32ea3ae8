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

class UnknownTypeError(KeyError):
    """A config's ``type`` that no registry in scope knows (with the closest
    registered names)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ''


class UnknownArgumentError(TypeError):
    """A config key that the built class does not accept (with the closest
    accepted names)."""


def _close(name: str, candidates) -> str:
    import difflib
    matches = difflib.get_close_matches(name, sorted(candidates), n=3,
                                        cutoff=0.6)
    return f'; did you mean {", ".join(repr(m) for m in matches)}?' \
        if matches else ''


def _registered_names(registry) -> set:
    registry.import_from_location()
    names, reg = set(), registry
    while reg is not None:
        names.update(reg.module_dict)
        reg = reg.parent
    return names


def _accepted_arguments(registry, type_name) -> list:
    import inspect
    try:
        obj = registry.get(type_name) if isinstance(type_name, str) \
            else type_name
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError, KeyError):
        return []
    return [p.name for p in params
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _with_suggestions(registry):
    """Wrap ``registry.build_func`` so that an unknown ``type`` or a
    misspelt config key names the closest registered / accepted names."""
    import re
    build = registry.build_func

    def build_func(cfg, *args, **kwargs):
        try:
            return build(cfg, *args, **kwargs)
        except (UnknownTypeError, UnknownArgumentError):
            raise
        except KeyError as err:
            msg = str(err.args[0]) if err.args else ''
            found = re.match(r'(\S+) is not in the (\S+) registry', msg)
            if not found:
                raise
            name, where = found.group(1), found.group(2)
            scoped = next((r for r in ALL_REGISTRIES.values()
                           if f'{r.scope}::{r.name}' == where), registry)
            raise UnknownTypeError(
                f'type={name!r} is not in the {where} registry'
                f'{_close(name, _registered_names(scoped))} (a component '
                f'of your own needs `custom_imports`)') from err
        except TypeError as err:
            found = re.search(r"unexpected keyword argument '(\w+)'", str(err))
            type_name = cfg.get('type') if hasattr(cfg, 'get') else None
            if not found or type_name is None:
                raise
            accepted = _accepted_arguments(_scoped(registry), type_name)
            label = type_name if isinstance(type_name, str) else \
                getattr(type_name, '__name__', type_name)
            raise UnknownArgumentError(
                f'{label}: unknown config key {found.group(1)!r}'
                f'{_close(found.group(1), accepted)} (accepted: '
                f'{", ".join(accepted)})') from err

    build_func._unidense_suggestions = True
    registry.build_func = build_func
    return registry


def _scoped(registry):
    """The unidense child of a root registry (what a config with
    ``default_scope='unidense'`` builds from), else the registry."""
    return next((r for r in ALL_REGISTRIES.values()
                 if r.parent is registry), registry)


# unidense's registries and their mmengine roots (the runner builds through
# the roots with default_scope='unidense'); only error messages change
for _registry in ALL_REGISTRIES.values():
    _with_suggestions(_registry)
    if _registry.parent is not None and not getattr(
            _registry.parent.build_func, '_unidense_suggestions', False):
        _with_suggestions(_registry.parent)


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

