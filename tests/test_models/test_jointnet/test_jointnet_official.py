"""tools/model_converters/jointnet_official.py on folders written by the
official code (data/official_tiny, made by data/make_official_fixture.py
with apple/ml-jointnet c0f7f79 and diffusers 0.19.3): the converted model
reproduces the official two-branch forward (``denoiseV2``)."""
import importlib.util
import json
import os.path as osp
import shutil

import pytest
import torch
from safetensors.torch import load_file

from jointnet_tiny_parts import REPO
from unidense.registry import MODELS

DATA = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'official_tiny')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'jointnet_official', osp.join(REPO, 'tools', 'model_converters',
                                      'jointnet_official.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(meta, path):
    import unidense.models  # noqa: F401
    bb = MODELS.build(dict(type='SDUNet', unet=dict(
        type='UNet2DConditionModel', config=meta['unet_config'])))
    fusion = MODELS.build(dict(meta['fusion'], backbone=bb))
    state = load_file(path)
    for prefix, module in (('backbone.', bb), ('fusion.', fusion)):
        part = {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}
        module.load_state_dict(part, strict=True)
    return fusion.eval()


@pytest.mark.parametrize('name,masked', [('rgbd_finetune', False),
                                         ('rgbd_inpaint', True)])
def test_converted_model_reproduces_the_official_forward(tmp_path, name,
                                                         masked):
    out = str(tmp_path / f'{name}.safetensors')
    with pytest.warns(UserWarning) if masked else _no_warning():
        meta = _tool().convert(osp.join(DATA, name), out)
    assert meta['fusion']['masked_input'] is masked
    assert json.load(open(out[:-len('.safetensors')] + '.json')) == meta
    fusion = _load(meta, out)
    io = load_file(osp.join(DATA, 'io.safetensors'))
    kwargs = dict(masks=io['masks'], masked_latents=io['masked']) \
        if masked else {}
    with torch.no_grad():
        ours = fusion(io['x'], io['t'], io['text'], **kwargs)
    assert (ours - io[name]).abs().max().item() <= 1e-5
    # the official joint branch differs from the RGB one (trained)
    assert not torch.equal(ours[:, :4], ours[:, 4:])


class _no_warning:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter('error', UserWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_layout_errors_are_named(tmp_path):
    tool = _tool()
    with pytest.raises(FileNotFoundError, match='unet/config.json'):
        tool.convert(str(tmp_path), str(tmp_path / 'x.safetensors'))
    # a zipped release with a top-level folder is found
    shutil.copytree(osp.join(DATA, 'rgbd_finetune'),
                    str(tmp_path / 'zip' / 'rgbd_finetune_sd21b'))
    meta = tool.convert(str(tmp_path / 'zip'),
                        str(tmp_path / 'ok.safetensors'))
    assert meta['num_unet_keys'][0] == meta['num_unet_keys'][1]
    # only one branch with the mask conv: refused
    mixed = tmp_path / 'mixed'
    shutil.copytree(osp.join(DATA, 'rgbd_inpaint'), str(mixed))
    shutil.rmtree(str(mixed / 'jointnet'))
    shutil.copytree(osp.join(DATA, 'rgbd_finetune', 'jointnet'),
                    str(mixed / 'jointnet'))
    with pytest.raises(ValueError, match='only one branch'):
        tool.convert(str(mixed), str(tmp_path / 'm.safetensors'))
    with pytest.raises(KeyError, match='no mapping'):
        tool.convert_state_dicts({'jointnet_new.weight': 0}, {})
