import subprocess
import sys

import mmengine.registry as mm_registry

from unidense import registry as ud_registry


def test_every_mmengine_root_has_a_unidense_child_with_locations():
    roots = {
        name: obj
        for name, obj in vars(mm_registry).items()
        if isinstance(obj, mm_registry.Registry) and obj.parent is None
        and obj.scope == 'mmengine'
    }
    assert len(roots) >= 20
    for name, root in roots.items():
        child = getattr(ud_registry, name, None)
        assert child is not None, f'unidense.registry lacks {name}'
        assert child.parent is root, name
        assert child.scope == 'unidense', name
        assert child._locations, f'{name} has no locations'
        assert root.children['unidense'] is child, name


def test_runtime_components_found_through_default_scope():
    from mmengine.registry import HOOKS, OPTIM_WRAPPERS, RUNNERS

    # what mmengine's build does under default_scope='unidense'
    for root, name in ((RUNNERS, 'UnidenseRunner'),
                       (HOOKS, 'AtomicCheckpointHook'),
                       (OPTIM_WRAPPERS, 'AutocastOptimWrapper')):
        with root.switch_scope_and_registry('unidense') as registry:
            assert registry.scope == 'unidense'
            assert registry.get(name).__name__ == name
            # mmengine's own components stay reachable through the parent
            assert registry.get('OptimWrapper' if root is OPTIM_WRAPPERS
                                else 'Runner' if root is RUNNERS else
                                'CheckpointHook') is not None


def test_python_m_registry_prints_components_grouped_by_kind():
    out = subprocess.run([sys.executable, '-m', 'unidense.registry'],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    headers = [line.split(' (')[0] for line in lines
               if not line.startswith(' ')]
    main = ['backbone', 'fusion', 'neck', 'head', 'estimator', 'loss',
            'dataset', 'transform', 'metric', 'hook', 'loop']
    assert headers[:len(main)] == main
    hook_at = lines.index(next(x for x in lines if x.startswith('hook (')))
    hooks = []
    for line in lines[hook_at + 1:]:
        if not line.startswith('  '):
            break
        hooks.append(line.strip())
    assert 'AtomicCheckpointHook' in hooks
    assert '  UnidenseRunner' in lines
    # every listed name really is registered
    comps = ud_registry.registered_components()
    assert comps['hook'] == hooks


def test_config_mistakes_name_the_closest_registered_names():
    """An unknown type or a misspelt key names the closest names, through
    unidense's registries and through mmengine's roots (what the runner
    uses with default_scope='unidense')."""
    import pytest
    from mmengine.registry import DefaultScope
    from mmengine.registry import METRICS as ROOT_METRICS

    from unidense.registry import (METRICS, MODELS, UnknownArgumentError,
                                   UnknownTypeError)
    with pytest.raises(UnknownTypeError, match="did you mean 'DepthMetric'"):
        METRICS.build(dict(type='DepthMetrics'))
    with pytest.raises(KeyError):             # still a KeyError for callers
        MODELS.build(dict(type='GroupedConverter'))
    with pytest.raises(UnknownArgumentError,
                       match="'alignmnet'; did you mean 'alignment'"):
        METRICS.build(dict(type='DepthMetric', alignmnet='least_squares'))
    with DefaultScope.overwrite_default_scope('unidense'):
        with pytest.raises(UnknownTypeError, match="did you mean 'IoUMetric'"):
            ROOT_METRICS.build(dict(type='IouMetric'))
        with pytest.raises(TypeError, match="'ignore_indx'; did you mean "
                           "'ignore_index'"):
            ROOT_METRICS.build(dict(type='IoUMetric', ignore_indx=255))
    with pytest.raises(UnknownTypeError, match='custom_imports'):
        MODELS.build(dict(type='NoSuchThingAtAll'))


def test_wrong_shape_in_a_checkpoint_names_file_and_key(tmp_path):
    import pytest
    import torch

    from unidense.utils.trainable_state import load_trainable_checkpoint
    model = torch.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r'(?s)ck.pth does not fit the model'
                       r'.*size mismatch for weight'):
        load_trainable_checkpoint(
            model, dict(state_dict=dict(weight=torch.zeros(4, 3),
                                        bias=torch.zeros(2))), 'ck.pth')
