"""tools/misc/browse_dataset.py on SyntheticScenes configs."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SCRIPT = osp.join(REPO, 'tools', 'misc', 'browse_dataset.py')
BASE_CFG = osp.join(REPO, 'configs', '_base_', 'datasets',
                    'synthetic_scenes.py')

CFG = """
default_scope = 'unidense'
train_dataloader = dict(batch_size=1, dataset=dict(
    type='SyntheticScenes', num_samples=5, img_size=(48, 64), seed=3,
    pipeline={pipeline}))
"""


def _load_tool():
    spec = importlib.util.spec_from_file_location('h3_browse_dataset', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_cfg(tmp_path, pipeline):
    path = tmp_path / 'cfg.py'
    path.write_text(CFG.format(pipeline=pipeline))
    return str(path)


def test_cli_writes_panels(tmp_path):
    cfg = _write_cfg(tmp_path, "[dict(type='PackDenseInputs')]")
    out = tmp_path / 'out'
    env = dict(os.environ, OMP_NUM_THREADS='2', HF_HUB_OFFLINE='1')
    proc = subprocess.run(
        [sys.executable, SCRIPT, cfg, '--output-dir', str(out),
         '--max-samples', '2', '--min-height', '96'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = sorted(os.listdir(out))
    assert files == ['00000_sample.png', '00001_sample.png']
    panel = cv2.imread(str(out / files[0]))[..., ::-1]
    # RGB | depth | normals | labels, each 128 wide at height 96.
    assert panel.shape == (22 + 96, 4 * 128 + 3 * 4, 3)
    cols = [panel[22:, i * 132:i * 132 + 128] for i in range(4)]
    for col in cols:  # every column shows structure, none is blank
        assert len(np.unique(col.reshape(-1, 3), axis=0)) >= 3
    assert 'RGB | gt depth | gt normal | gt sem_seg' in proc.stdout


def test_unpacked_pipeline_and_split_errors(tmp_path):
    tool = _load_tool()
    cfg = _write_cfg(tmp_path, '[]')  # raw results dicts, numpy maps
    out = tool.main([cfg, '--output-dir', str(tmp_path / 'raw'),
                     '--max-samples', '1'])
    panel = cv2.imread(osp.join(out, '00000_sample.png'))
    assert panel.shape == (22 + 192, 4 * 256 + 3 * 4, 3)
    with pytest.raises(SystemExit, match='val_dataloader'):
        tool.main([cfg, '--split', 'val'])


@pytest.mark.skipif(not osp.isfile(BASE_CFG),
                    reason='configs/_base_/datasets/synthetic_scenes.py '
                    'not there yet')
def test_repository_synthetic_scenes_config(tmp_path):
    tool = _load_tool()
    out = tool.main([BASE_CFG, '--output-dir', str(tmp_path / 'repo'),
                     '--max-samples', '1'])
    assert len(os.listdir(out)) == 1
