"""tools/analysis_tools/count_params.py on full-size configs (meta device)."""
import importlib.util
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'count_params.py')
MODELS_DIR = osp.join(REPO, 'configs', '_base_', 'models')


def _tool():
    spec = importlib.util.spec_from_file_location('count_params_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_sd15_unet_meta():
    out = subprocess.run(
        [sys.executable, TOOL, osp.join(MODELS_DIR, 'sd15.py'), '--device',
         'meta'], capture_output=True, text=True, timeout=240, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r'total=\d+ trainable=\d+ frozen=\d+', last), last
    assert last == 'total=859520964 trainable=859520964 frozen=0'
    assert 'UNet2DConditionModel' in out.stdout  # the per-child table


@pytest.mark.parametrize('name,key,total,trainable', [
    ('sd21_base.py', 'model', 865_910_724, 865_910_724),
    ('sd_vae.py', 'model', 83_653_863, 0),  # frozen=True in the config
    ('sd21_base.py', 'text_encoder', 340_387_840, 0),  # OpenCLIP ViT-H text
])
def test_published_sizes(name, key, total, trainable, capsys):
    got = _tool().main([osp.join(MODELS_DIR, name), '--key', key])
    assert got == (total, trainable, total - trainable)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == (f'total={total} trainable={trainable} '
                    f'frozen={total - trainable}')


def test_cfg_options_and_cpu_build(capsys):
    tool = _tool()
    tiny = osp.join(MODELS_DIR, 'sd15_tiny.py')
    total, trainable, frozen = tool.main([tiny, '--device', 'cpu'])
    assert total == trainable and frozen == 0 and 0 < total < 2_000_000
    total2, trainable2, frozen2 = tool.main(
        [tiny, '--device', 'cpu', '--cfg-options', 'model.unet.frozen=True'])
    assert total2 == total and trainable2 == 0 and frozen2 == total
    with pytest.raises(SystemExit, match='no `nope`'):
        tool.main([tiny, '--key', 'nope'])
