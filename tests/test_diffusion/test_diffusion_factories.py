"""Factories: three build modes, meta-device counts, offline errors."""
import json
import os.path as osp

import pytest
import torch

from unidense.diffusion import (PretrainedNotFoundError,
                                build_pretrained_module,
                                meta_device_build)
from unidense.registry import MODELS

from tiny_diffusion_parts import TINY_CLIP, TINY_T5, TINY_UNET, TINY_VAE

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _cfg(name):
    from mmengine import Config
    return Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                    name))


def _numel(m):
    return sum(p.numel() for p in m.parameters())


# SD-1.5 / SD-2.1-base UNets and the SD VAE are counted through
# tools/analysis_tools/count_params.py in tests/test_tools/test_count_params.py
@pytest.mark.parametrize('name,key,expected', [
    ('sd15.py', 'text_encoder', 123_060_480),  # CLIP ViT-L/14 text
    ('sd15.py', 'vae', 83_653_863),
])
def test_meta_device_published_sizes(name, key, expected):
    cfg = _cfg(name)
    with meta_device_build():
        module = MODELS.build(cfg[key])
    assert _numel(module) == expected
    assert all(p.device.type == 'meta' for p in module.parameters())


def test_meta_build_needs_config():
    with pytest.raises(ValueError, match='needs `config`'):
        with meta_device_build():
            MODELS.build(dict(type='UNet2DConditionModel',
                              from_pretrained='some/id', subfolder='unet'))


def test_config_overrides_and_dtype_and_frozen():
    unet = MODELS.build(dict(TINY_UNET, cross_attention_dim=16,
                             torch_dtype='bfloat16', frozen=True))
    assert unet.config.cross_attention_dim == 16
    assert next(unet.parameters()).dtype == torch.bfloat16
    assert not any(p.requires_grad for p in unet.parameters())
    assert not unet.training
    with pytest.raises(ValueError, match='torch_dtype'):
        MODELS.build(dict(TINY_VAE, torch_dtype='float8'))
    with pytest.raises(ValueError, match='from_pretrained'):
        MODELS.build(dict(type='AutoencoderKL'))


@pytest.mark.parametrize('cfg', [TINY_UNET, TINY_VAE, TINY_CLIP, TINY_T5],
                         ids=['unet', 'vae', 'clip', 't5'])
def test_save_pretrained_round_trip(cfg, tmp_path):
    torch.manual_seed(0)
    module = MODELS.build(cfg)
    module.save_pretrained(tmp_path / 'repo' / 'part')
    loaded = MODELS.build(dict(type=cfg['type'],
                               from_pretrained=str(tmp_path / 'repo'),
                               subfolder='part', torch_dtype='float16'))
    assert type(loaded) is type(module)
    ref, got = module.state_dict(), loaded.state_dict()
    assert ref.keys() == got.keys()
    # transformers keeps some layers in fp32 on purpose (T5's `wo`)
    keep32 = getattr(loaded, '_keep_in_fp32_modules', None) or []
    for k in ref:
        want = torch.float16 if ref[k].is_floating_point() else ref[k].dtype
        if any(f'.{name}.' in f'.{k}' for name in keep32):
            want = ref[k].dtype
        assert got[k].dtype == want, k
        torch.testing.assert_close(got[k].float(), ref[k].to(want).float())
    # meta build from a local folder reads its config.json
    with meta_device_build():
        meta = MODELS.build(dict(type=cfg['type'],
                                 from_pretrained=str(tmp_path / 'repo'),
                                 subfolder='part'))
    assert _numel(meta) == _numel(module)
    assert next(meta.parameters()).device.type == 'meta'
    # config given as a folder and as a config.json path: same architecture
    for source in (tmp_path / 'repo' / 'part',
                   tmp_path / 'repo' / 'part' / 'config.json'):
        again = MODELS.build(dict(type=cfg['type'], config=str(source)))
        assert _numel(again) == _numel(module)


def test_offline_missing_hub_id_is_clear(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(PretrainedNotFoundError) as err:
        MODELS.build(dict(type='UNet2DConditionModel',
                          from_pretrained='nobody/not-a-model',
                          subfolder='unet'))
    msg = str(err.value)
    assert 'could not load nobody/not-a-model/unet' in msg
    assert 'network is off' in msg
    assert 'huggingface-cli download nobody/not-a-model' in msg
    assert 'local folder' in msg
    for cls in ('CLIPTextModel', 'T5EncoderModel'):
        with pytest.raises(PretrainedNotFoundError, match='nobody/x'):
            build_pretrained_module('transformers', cls,
                                    from_pretrained='nobody/x')


def test_local_folder_without_weights(tmp_path):
    with pytest.raises(PretrainedNotFoundError, match='local folder'):
        MODELS.build(dict(type='AutoencoderKL', from_pretrained=str(tmp_path),
                          subfolder='vae'))


def test_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='config.json'):
        MODELS.build(dict(type='AutoencoderKL', config=str(tmp_path)))
    bad = tmp_path / 'config.json'
    bad.write_text(json.dumps(dict(not_a_key=1, block_out_channels=[8],
                                   down_block_types=['DownEncoderBlock2D'],
                                   up_block_types=['UpDecoderBlock2D'],
                                   norm_num_groups=8)))
    vae = MODELS.build(dict(type='AutoencoderKL', config=str(bad)))
    assert tuple(vae.config.block_out_channels) == (8, )


def test_pretrained_survives_mmengine_init_weights(tmp_path):
    from mmengine.model import BaseModule
    MODELS.build(TINY_CLIP).save_pretrained(tmp_path / 'clip')

    class Holder(BaseModule):

        def __init__(self):
            super().__init__()
            self.text = MODELS.build(dict(type='CLIPTextModel',
                                          from_pretrained=str(tmp_path),
                                          subfolder='clip'))

    holder = Holder()
    # marked as initialised, so mmengine will not call its init_weights
    assert holder.text.is_init
    before = {k: v.clone() for k, v in holder.text.state_dict().items()}
    holder.init_weights()
    for k, v in holder.text.state_dict().items():
        assert torch.equal(v, before[k]), k
