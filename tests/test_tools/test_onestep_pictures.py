"""tools/analysis_tools/onestep_pictures.py writes one row per scene and one
column per given checkpoint (plus image and ground truth)."""
import os.path as osp

import cv2
import torch

from tools.analysis_tools import onestep_pictures

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_rows_and_columns(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import MODELS
    from unidense.utils.checkpoint_io import save_checkpoint_atomic
    from unidense.utils.trainable_state import trainable_state_dict
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/jointnet/sd21_rgbd_onestep_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'jointnet.pth')
    save_checkpoint_atomic(dict(state_dict=trainable_state_dict(model),
                                meta=dict(unidense=dict(
                                    trainable_only=True))), ckpt)
    out = str(tmp_path / 'grid.png')
    assert onestep_pictures.main(['--jointnet-onestep', ckpt, '--num', '2',
                      '--out', out]) == 0
    grid = cv2.imread(out)
    # 2 rows of (22 px titles + 160 px tiles + 4 px gap); 3 tiles a row
    assert grid.shape[0] == 2 * (22 + 160 + 4)
    assert 3 * 160 <= grid.shape[1] < 4 * 160


def test_model_columns_on_real_nyu(tmp_path):
    """--model adds a column of any config (with options); --data nyu takes
    the rows from the real NYUv2 samples, processed at 64 px."""
    import pytest
    nyu = osp.join(REPO, '..', 'shared', 'data', 'realdata', 'nyu_depth_v2',
                   'nyu2_test')
    if not osp.isdir(nyu):
        pytest.skip('no ../shared/data/realdata here')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import MODELS
    from unidense.utils.checkpoint_io import save_checkpoint_atomic
    from unidense.utils.trainable_state import trainable_state_dict
    init_default_scope('unidense')
    config = 'configs/jointnet/sd21_rgbd_tiny.py'
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(osp.join(REPO, config)).model)
    ckpt = str(tmp_path / 'jointnet.pth')
    save_checkpoint_atomic(dict(state_dict=trainable_state_dict(model),
                                meta=dict(unidense=dict(
                                    trainable_only=True))), ckpt)
    out = str(tmp_path / 'nyu.png')
    assert onestep_pictures.main([
        '--data', 'nyu', '--num', '1', '--out', out,
        '--model', 'rgb2j', config, ckpt, 'model.depth_steps=2',
        '--model', 'rgb2j x2', config, ckpt, 'model.depth_steps=2',
        'model.ensemble_size=2']) == 0
    grid = cv2.imread(out)
    # one row: image, ground truth and two model tiles (480x640 shown at
    # 160 px high, 4:3)
    assert grid.shape[0] == 22 + 160 + 4
    assert 4 * 213 <= grid.shape[1] < 5 * 213


def test_bad_model_spec_is_refused():
    import pytest
    with pytest.raises(SystemExit, match='TITLE CONFIG CKPT'):
        onestep_pictures.columns(onestep_pictures.parse_args(
            ['--model', 'only-a-title', 'config.py']))
    with pytest.raises(SystemExit, match='TITLE CONFIG CKPT'):
        onestep_pictures.columns(onestep_pictures.parse_args(
            ['--model', 't', 'c.py', 'x.pth', 'not-an-option']))


def test_model_options_parse_like_cfg_options():
    """KEY=VALUE of --model parse as tools/test.py --cfg-options does."""
    (_, config, ckpt, options), = onestep_pictures.columns(
        onestep_pictures.parse_args([
            '--model', 't', 'c.py', 'x.pth', 'model.ensemble_size=8',
            'model.lr=1e-3', 'model.eval_seed=None', 'model.flag=true']))
    assert (config, ckpt) == ('c.py', 'x.pth')
    assert options == {'model.ensemble_size': 8, 'model.lr': 0.001,
                       'model.eval_seed': None, 'model.flag': True}
