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
