"""configs/diff2in1: full-size parameter counts on the meta device (against
the original models of brief 6.1), every tiny config trains with falling loss
and evaluates through tools/test.py, README / metafile consistency."""
import copy
import importlib.util
import json
import os.path as osp
import runpy

import pytest
import yaml
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(REPO, 'configs', 'diff2in1')
FULL = ['bae_nyu_normal', 'idisc_nyu_normal', 'vpd_ade20k_seg',
        'vpd_nyu_depth', 'invpt_nyudmt', 'taskprompter_nyudmt',
        'invpt_pascal', 'taskprompter_pascal']

# SD-1.5 UNet without its unused output head (12,164), VAE encoder +
# quant conv, CLIP ViT-L/14 text encoder - all frozen
SD15_FROZEN = (859_520_964 - 12_164) + 34_163_664 + 123_060_480
# VPD: the UNet and text adapter train; + CLIP ViT-L/14 with projection
VPD_TRAINABLE_BACKBONE = 859_508_800 + 1_181_952
VPD_FROZEN = 34_163_664 + 123_060_480 + 123_650_304

# name -> total, trainable, {child: its parameters}; the components equal
# the reference counts of brief 6.1 (see configs/diff2in1/README.md)
COUNTS = {
    'bae_nyu_normal': (1_082_735_984, 66_003_040, dict(
        heads=44_081_552,      # Bae's decoder
        necks=21_921_488)),    # SNmodule, the parts its forward uses
    'idisc_nyu_normal': (1_082_041_308, 65_308_364, dict(
        heads=12_193_676)),    # iDisc decoder + AFP + ISD
    'vpd_ade20k_seg': (1_149_075_366, 868_200_918, dict(
        heads=7_510_166, necks=0)),
    'vpd_nyu_depth': (1_153_102_609, 872_228_161, dict(
        heads=11_537_409, necks=0)),
    'invpt_nyudmt': (1_525_376_158, 508_643_214, dict(
        # + 6,639,562 the reference builds but never uses = 402,092,888
        heads=402_092_888 - 6_639_562 - 304_133_120,
        encoder=304_133_120)),
    'taskprompter_nyudmt': (1_626_226_365, 609_493_421, dict(
        # TaskPrompter 513,505,709 = head + patch / position embedding;
        # the timm ViT also holds a cls token (1,024, unused)
        heads=513_505_709 - 787_456 - 1009 * 1024,
        encoder=787_456 + 1009 * 1024 + 1024)),
    'invpt_pascal': (1_545_880_440, 529_147_496, dict(
        heads=422_929_810 - 6_972_202 - 304_149_504,
        encoder=304_149_504)),
    'taskprompter_pascal': (1_513_825_520, 497_092_576, dict(
        heads=401_104_864 - 787_456 - 1025 * 1024,
        encoder=787_456 + 1025 * 1024 + 1024)),
}


def _count_params():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'count_params.py')
    spec = importlib.util.spec_from_file_location('count_params_d2', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.parametrize('name', FULL)
def test_full_size_counts_on_meta(name, capsys):
    tool = _count_params()
    total, trainable, frozen = tool.main(
        [osp.join(CFG, name + '.py'), '--device', 'meta'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f'total={total} trainable={trainable} frozen={frozen}'
    want_total, want_trainable, parts = COUNTS[name]
    assert (total, trainable) == (want_total, want_trainable)
    vpd = name.startswith('vpd')
    assert frozen == (VPD_FROZEN if vpd else SD15_FROZEN)
    cfg = Config.fromfile(osp.join(CFG, name + '.py'))
    model = tool.build_model(cfg.model, 'meta')
    rows = {r[0]: r[2] for r in tool.table_rows(model)}
    for child, n in parts.items():
        assert rows[child] == n, child
    bb_trainable = [r[3] for r in tool.table_rows(model)
                    if r[0] == 'backbone'][0]
    assert bb_trainable == (VPD_TRAINABLE_BACKBONE if vpd else 0)


def test_every_table_row_has_a_config_tiny_variant_and_metafile_entry():
    meta = yaml.safe_load(open(osp.join(CFG, 'metafile.yaml')))
    configs = {m['Config'] for m in meta['Models']}
    readme = open(osp.join(CFG, 'README.md')).read()
    for name in FULL:
        assert f'configs/diff2in1/{name}.py' in configs
        assert osp.isfile(osp.join(CFG, name + '_tiny.py'))
        assert f'{name}.py' in readme and f'{name}_tiny.py' in readme
        total, trainable, _ = COUNTS[name]
        assert f'{trainable:,}' in readme, name
    for model in meta['Models']:
        name = osp.basename(model['Config'])[:-3]
        if '_tiny' in name:   # measured here, with the protocol
            assert model['Results'] and all(
                r.get('Measured') and r.get('Protocol')
                for r in model['Results'])
            continue
        if '_selfimprove' not in name:
            assert model['Results']
        assert all(r['Published'] for r in model.get('Results', []))
        trainable = model['Metadata']['Trainable Parameters']
        assert trainable == COUNTS[name.replace('_selfimprove', '')][1]


def _loss_history(runner):
    return [float(v) for v in
            runner.message_hub.get_scalar('train/loss').data[0]]


TINY_METRIC_KEYS = {
    'bae_nyu_normal_tiny': ['normal/mean', 'normal/a11.25'],
    'idisc_nyu_normal_tiny': ['normal/mean', 'normal/median'],
    'vpd_ade20k_seg_tiny': ['seg/mIoU'],
    'vpd_nyu_depth_tiny': ['depth/rmse', 'depth/abs_rel'],
    'invpt_nyudmt_tiny': ['seg/mIoU', 'depth/rmse', 'normal/mean',
                          'delta_m'],
    'taskprompter_nyudmt_tiny': ['seg/mIoU', 'depth/rmse', 'normal/mean',
                                 'delta_m'],
    'invpt_pascal_tiny': ['seg/mIoU', 'parsing/mIoU', 'sal/maxF',
                          'normal/mean', 'delta_m'],
    'taskprompter_pascal_tiny': ['seg/mIoU', 'parsing/mIoU', 'sal/maxF',
                                 'normal/mean', 'delta_m'],
}


@pytest.fixture
def fast_config_dump(monkeypatch):
    """The runner pretty-prints (yapf) the long config three times, ~13 s
    on 2 shared cores; the raw text serves the tests as well."""
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: self.text))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize('name', sorted(TINY_METRIC_KEYS))
def test_tiny_config_trains_then_tools_test_evaluates(name, tmp_path,
                                                      fast_config_dump):
    import unidense.engine  # noqa: F401
    from unidense.registry import RUNNERS
    path = osp.join(CFG, name + '.py')
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'train')
    cfg.train_cfg.val_interval = 10**6  # evaluated below, by tools/test.py
    runner = RUNNERS.build(cfg)
    runner.train()
    losses = _loss_history(runner)
    iters = cfg.train_cfg.max_iters
    assert len(losses) == iters
    k = iters // 4
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    assert last < first - 0.1 * abs(first), (first, last)
    # frozen parts are not in the checkpoint (only what trains)
    ckpt = osp.join(cfg.work_dir, f'iter_{iters}.pth')
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    state = load_checkpoint_safe(ckpt)['state_dict']
    frozen_unet = cfg.model.backbone.get('frozen_unet', True)
    assert not any(k.startswith(('backbone.codec', 'backbone.text_encoder'))
                   for k in state)
    assert any(k.startswith('backbone.unet') for k in state) == (
        not frozen_unet)

    out = tmp_path / 'metrics.json'
    test = runpy.run_path(osp.join(REPO, 'tools', 'test.py'))
    metrics = test['main']([path, ckpt, '--work-dir', str(tmp_path / 'test'),
                            '--out', str(out)])
    saved = json.load(open(out))
    for key in TINY_METRIC_KEYS[name]:
        hits = [v for k, v in saved.items() if k.endswith(key)]
        assert hits and all(v == v for v in hits), (key, sorted(saved))
    assert metrics


def test_tiny_variants_change_only_parts_sizes_and_data():
    """A tiny config keeps the full config's estimator, neck kind, head
    type, tasks and losses."""
    for name in FULL:
        full = Config.fromfile(osp.join(CFG, name + '.py')).model
        tiny = Config.fromfile(osp.join(CFG, name + '_tiny.py')).model
        assert tiny.type == full.type == 'DiffusionPerceptor'
        assert tiny.head.type == full.head.type
        assert (tiny.neck is None) == (full.neck is None)
        for key in ('timestep', 'posterior', 'apply_scaling', 'add_noise',
                    'text', 'taps', 'frozen_unet'):
            assert tiny.backbone[key] == full.backbone[key], (name, key)
        if 'num_outputs' in full.head:
            assert list(tiny.head.num_outputs) == list(full.head.num_outputs)
        if full.get('encoder'):
            enc = copy.deepcopy(tiny.encoder)
            assert enc.output == full.encoder.output
            assert enc.pretrained is False


@pytest.mark.parametrize('name', FULL)
def test_full_config_evaluators_build_as_the_runner_builds_them(name):
    """A dict with ``metrics`` would be read as an Evaluator config, so the
    multi-task metrics are given as a one-element list."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    import unidense.evaluation  # noqa: F401
    cfg = Config.fromfile(osp.join(CFG, name + '.py'))
    with DefaultScope.overwrite_default_scope('unidense'):
        evaluator = Runner.build_evaluator(None, cfg.test_evaluator)
    kinds = [type(m).__name__ for m in evaluator.metrics]
    if 'nyudmt' in name or 'pascal' in name:
        assert kinds == ['MultiTaskMetric']
        children = [type(c).__name__ for c in evaluator.metrics[0].children]
        want = (['IoUMetric', 'DepthMetric', 'NormalMetric']
                if 'nyudmt' in name else
                ['IoUMetric', 'IoUMetric', 'SaliencyMetric',
                 'NormalMetric'])
        assert children == want
        # one Delta_m term per task in the paper's table
        assert len(evaluator.metrics[0].delta_tasks) == len(want)

    else:
        assert kinds == [{'bae_nyu_normal': 'NormalMetric',
                          'idisc_nyu_normal': 'NormalMetric',
                          'vpd_ade20k_seg': 'IoUMetric',
                          'vpd_nyu_depth': 'DepthMetric'}[name]]
    if 'normal' in name:
        assert evaluator.metrics[0].reduction == 'pooled'
