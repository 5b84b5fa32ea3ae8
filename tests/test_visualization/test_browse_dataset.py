"""tools/misc/browse_dataset.py on SyntheticScenes configs."""
import importlib.util
import os
import os.path as osp
import runpy
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


def test_cli_writes_panels(tmp_path, capsys, monkeypatch):
    cfg = _write_cfg(tmp_path, "[dict(type='PackDenseInputs')]")
    out = tmp_path / 'out'
    # Run the script as ``python tools/misc/browse_dataset.py ...`` would,
    # in this process (a fresh interpreter would spend most of the test
    # budget importing torch).
    monkeypatch.setattr(sys, 'argv', [
        SCRIPT, cfg, '--output-dir', str(out), '--max-samples', '2',
        '--min-height', '96'])
    runpy.run_path(SCRIPT, run_name='__main__')
    stdout = capsys.readouterr().out
    files = sorted(os.listdir(out))
    assert files == ['00000_sample.png', '00001_sample.png']
    panel = cv2.imread(str(out / files[0]))[..., ::-1]
    # RGB | depth | normals | labels, each 128 wide at height 96.
    assert panel.shape == (22 + 96, 4 * 128 + 3 * 4, 3)
    cols = [panel[22:, i * 132:i * 132 + 128] for i in range(4)]
    for col in cols:  # every column shows structure, none is blank
        assert len(np.unique(col.reshape(-1, 3), axis=0)) >= 3
    assert 'RGB | gt depth | gt normal | gt sem_seg' in stdout


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
