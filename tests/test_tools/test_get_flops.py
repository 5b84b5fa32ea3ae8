"""tools/analysis_tools/get_flops.py with fvcore on tiny configs."""
import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py')
MODELS_DIR = osp.join(REPO, 'configs', '_base_', 'models')


def _tool():
    spec = importlib.util.spec_from_file_location('get_flops_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unet_flops_scale_with_resolution(capsys):
    tool = _tool()
    cfg = osp.join(MODELS_DIR, 'sd15_tiny.py')
    small, per_child = tool.main([cfg, '--shape', '64', '64'])
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f'total_flops={small}'
    assert set(per_child) == {'unet'} and per_child['unet'] == small > 0
    # conv/linear work is per pixel (x4), attention grows faster, the
    # timestep embedding is constant
    big, _ = tool.main([cfg, '--shape', '128', '128'])
    assert 3 * small < big < 6 * small


def test_feature_extractor_reports_each_component(tmp_path, capsys):
    cfg = tmp_path / 'features_tiny.py'
    cfg.write_text(
        f"_base_ = [{osp.join(MODELS_DIR, 'sd15_tiny.py')!r}]\n"
        "model = dict(_delete_=True, type='SDUNetFeatures',\n"
        "             unet={{_base_.unet}}, vae={{_base_.vae}},\n"
        "             text_encoder={{_base_.text_encoder}})\n")
    total, per_child = _tool().main([str(cfg), '--shape', '64', '64'])
    assert set(per_child) >= {'unet', 'codec', 'text_encoder'}
    assert all(per_child[k] > 0 for k in ('unet', 'codec', 'text_encoder'))
    assert abs(sum(per_child.values()) - total) <= len(per_child)
    out = capsys.readouterr().out
    assert 'codec' in out and 'GFLOPs' in out


CONFIGS = osp.join(REPO, 'configs')


@pytest.mark.parametrize('config, options, children', [
    ('_base_/models/pixart_xl_2_512_tiny.py', [], {'transformer'}),
    ('_base_/models/flux1_dev_tiny.py', [], {'transformer'}),
    ('merge/flux_depth_tiny.py', ['model.num_inference_steps=1'],
     {'backbone', 'fusion', 'codec'}),
    ('jointnet/sd21_rgbd_tiny.py', ['model.depth_steps=1'],
     {'backbone', 'fusion'}),
    ('diff2in1/bae_nyu_normal_tiny.py', [], {'backbone', 'necks', 'heads'}),
    ('diff2in1/bae_nyu_normal_selfimprove_tiny.py', [], {'estimator'}),
    ('pretrain/vae_tiny.py', [], {'vae'}),
    ('pretrain/pixart_tiny.py', [], {'denoiser', 'vae', 'text_encoder'}),
])
def test_every_backbone_and_estimator_is_counted(config, options, children):
    """Issue 27 item 4: the DiT backbones (dummy_inputs), every estimator
    (its tensor-mode inference on an image) and the pretrainers trace."""
    argv = [osp.join(CONFIGS, config), '--shape', '64', '64']
    total, per_child = _tool().main(
        argv + (['--cfg-options'] + options if options else []))
    assert total > 0 and children <= set(per_child), sorted(per_child)
    assert all(per_child[c] > 0 for c in children), per_child


def test_flops_follow_the_work_done():
    """Twice the MERGE ensemble, twice the DiT and converter FLOPs; a
    generation evaluator counts one image at its configured steps."""
    tool = _tool()
    merge = osp.join(CONFIGS, 'merge', 'pixart_depth_tiny.py')
    one, parts1 = tool.main([merge, '--cfg-options', 'model.ensemble_size=1'])
    two, parts2 = tool.main([merge, '--cfg-options', 'model.ensemble_size=2'])
    assert parts2['backbone'] == 2 * parts1['backbone'] > 0
    assert parts2['fusion'] == 2 * parts1['fusion'] > 0
    # the image is encoded once for the whole ensemble
    assert one < two < 2 * one
    t2i = osp.join(CONFIGS, 'merge', 'eval_t2i_tiny.py')
    steps2, _ = tool.main(
        [t2i, '--cfg-options', 'model.generate_kwargs.num_inference_steps=2'])
    steps4, per_child = tool.main(
        [t2i, '--cfg-options', 'model.generate_kwargs.num_inference_steps=4'])
    assert set(per_child) == {'model'}
    assert 1.6 * steps2 < steps4 < 2 * steps2
