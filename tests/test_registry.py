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
