"""The shipped tiny family (model_zoo/unidense-tiny): files intact, loads
offline through the factories, and reproduces stored reference outputs.
The family is never retrained here."""
import hashlib
import os
import os.path as osp

import numpy as np
import pytest
import torch

from unidense.models.pretrainers.tiny_family import (TINY_FAMILY_DIR,
                                                     load_part,
                                                     load_text_encoder,
                                                     reference_outputs)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REFERENCE = osp.join(REPO, 'tests', 'data', 'unidense_tiny_reference.npz')
# CPU BLAS kernels differ between machines (AVX2 / AVX-512): outputs agree
# to ~1e-5 on one machine, the tolerance leaves room for other kernels.
ATOL = 2e-3


def _sums():
    with open(osp.join(TINY_FAMILY_DIR, 'SHA256SUMS')) as f:
        rows = [line.split() for line in f if line.strip()]
    return {name: digest for digest, name in rows}


def test_every_file_matches_its_sha256_and_the_family_is_small():
    sums = _sums()
    total = 0
    for name, digest in sums.items():
        path = osp.join(TINY_FAMILY_DIR, name)
        with open(path, 'rb') as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == digest, name
        total += len(data)
    listed = {osp.relpath(osp.join(root, f), TINY_FAMILY_DIR)
              for root, _, files in os.walk(TINY_FAMILY_DIR) for f in files}
    weights = {n for n in listed if n.endswith('.safetensors')}
    assert weights <= set(sums), weights - set(sums)
    assert {'vae/diffusion_pytorch_model.safetensors',
            'transformer/diffusion_pytorch_model.safetensors',
            'unet/diffusion_pytorch_model.safetensors',
            'text_encoder/model.safetensors'} <= weights
    assert total < 30 * 2**20


def test_parts_load_offline_as_the_library_classes(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    import diffusers
    import transformers
    assert isinstance(load_part('vae'), diffusers.AutoencoderKL)
    assert isinstance(load_part('transformer'),
                      diffusers.PixArtTransformer2DModel)
    assert isinstance(load_part('unet'), diffusers.UNet2DConditionModel)
    text = load_text_encoder()
    assert isinstance(text.encoders[0], transformers.T5EncoderModel)
    out = text.encode(['a room with red walls'])
    assert out['embeds'].shape == (1, 48, 64)
    random = load_part('transformer', random_init=True)
    trained = load_part('transformer')
    def arch(cfg):
        return {k: v for k, v in cfg.items() if not k.startswith('_')}

    assert arch(random.config) == arch(trained.config)
    assert not torch.equal(random.proj_out.weight, trained.proj_out.weight)


@pytest.mark.parametrize('part', ['vae', 'transformer', 'unet'])
def test_outputs_match_stored_reference(part):
    stored = np.load(REFERENCE)
    got = reference_outputs(parts=(part, ))
    for key, value in got.items():
        np.testing.assert_allclose(value, stored[key], atol=ATOL,
                                   err_msg=key)


def test_pretrain_configs_describe_the_shipped_architectures():
    """configs/pretrain/* rebuild exactly what model_zoo/unidense-tiny holds
    (so the training commands in its README reproduce these folders)."""
    import json

    from mmengine.config import Config
    family = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                      'unidense_tiny_family.py'))
    for part, key in (('vae', 'vae_architecture'),
                      ('transformer', 'transformer_architecture'),
                      ('unet', 'unet_architecture')):
        with open(osp.join(TINY_FAMILY_DIR, part, 'config.json')) as f:
            shipped = json.load(f)
        for name, value in family[key].config.items():
            value = list(value) if isinstance(value, tuple) else value
            assert shipped[name] == value, (part, name)
    for name in ('vae_tiny', 'pixart_tiny', 'unet_tiny'):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'pretrain',
                                       f'{name}.py'))
        assert cfg.model.type in ('VAEPretrainer', 'TextToImagePretrainer')
        assert cfg.train_dataloader.dataset.seed == 0


def test_readme_lists_the_same_sha256_as_sha256sums():
    """Issue 19 asks for each file's sha256 in the README: its Checksums
    block must be SHA256SUMS verbatim, or a user checks stale sums."""
    with open(osp.join(TINY_FAMILY_DIR, 'README.md')) as f:
        readme = f.read()
    block = readme.split('## Checksums', 1)[1].split('```text\n', 1)[1]
    block = block.split('```', 1)[0]
    listed = {name: digest for digest, name in
              (line.split() for line in block.splitlines() if line.strip())}
    assert listed == _sums(), (
        'model_zoo/unidense-tiny/README.md "Checksums" differs from '
        'SHA256SUMS: paste SHA256SUMS into it')
