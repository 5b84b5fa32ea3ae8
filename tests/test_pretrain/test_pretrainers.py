"""Pretrainers of the tiny family on random tiny parts: losses, EMA,
export to diffusers folders, word tokenizer; no shipped weights needed."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from unidense.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILY = osp.join(REPO, 'configs', '_base_', 'models',
                  'unidense_tiny_family.py')

_VAE = dict(type='AutoencoderKL', config=dict(
    in_channels=3, out_channels=3,
    down_block_types=['DownEncoderBlock2D'] * 2,
    up_block_types=['UpDecoderBlock2D'] * 2, block_out_channels=[8, 16],
    layers_per_block=1, latent_channels=4, norm_num_groups=8,
    sample_size=16))


def _batch(n=4, size=16, depth=True):
    pipeline = [dict(type='LoadImage')]
    if depth:
        pipeline += [dict(type='LoadDepth'), dict(type='LoadNormal'),
                     dict(type='NormalizeDepth')]
    pipeline += [dict(type='PackDenseInputs')]
    ds = DATASETS.build(dict(type='SyntheticScenes', num_samples=n,
                             img_size=size, pipeline=pipeline))
    return pseudo_collate([ds[i] for i in range(n)])


def _steps(model, batch, n, lr=3e-3):
    optim = OptimWrapper(torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=lr))
    model.train()
    return [float(model.train_step(batch, optim)['loss'].detach())
            for _ in range(n)]


def test_vae_pretrainer_learns_and_measures_depth_round_trip(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='VAEPretrainer', vae=_VAE,
        data_preprocessor=dict(type='DenseDataPreprocessor')))
    batch = _batch()
    losses = _steps(model, batch, 30)
    assert losses[-1] < 0.75 * losses[0], losses
    log = model.loss(**model.data_preprocessor(batch, True))
    assert set(log) == {'loss_rgb', 'loss_depth', 'loss_normal', 'loss_kl'}
    model.eval()
    out = model.val_step(batch)
    assert out[0].pred_depth.data.shape == (1, 16, 16)
    # export: diffusers folder with the measured scaling factor, loadable
    images = model.data_preprocessor(batch, False)['inputs']
    scale = model.latent_scaling_factor(images)
    folder = model.export(str(tmp_path / 'vae'), images)
    loaded = MODELS.build(dict(type='AutoencoderKL', from_pretrained=folder))
    assert abs(loaded.config.scaling_factor - scale) < 1e-6
    for key, value in model.vae.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.raises(ValueError, match='modalities'):
        MODELS.build(dict(type='VAEPretrainer', vae=_VAE,
                          modalities=dict(seg=1.0)))


def test_vae_decoder_fine_tuning_keeps_the_latent_space(tmp_path):
    """trainable='decoder': the encoder (and so every latent a denoiser
    was trained on) is bit for bit unchanged, the decoder learns, the
    export keeps the loaded scaling_factor."""
    torch.manual_seed(0)
    trained = MODELS.build(dict(type='VAEPretrainer', vae=_VAE))
    trained.vae.register_to_config(scaling_factor=0.4321)
    folder = str(tmp_path / 'vae')
    trained.vae.save_pretrained(folder)
    model = MODELS.build(dict(
        type='VAEPretrainer', trainable='decoder',
        vae=dict(type='AutoencoderKL', from_pretrained=folder),
        data_preprocessor=dict(type='DenseDataPreprocessor')))
    encoder = {k: v.clone() for k, v in model.vae.state_dict().items()
               if k.startswith(('encoder.', 'quant_conv.'))}
    decoder = {k: v.clone() for k, v in model.vae.state_dict().items()
               if k.startswith(('decoder.', 'post_quant_conv.'))}
    batch = _batch()
    losses = _steps(model, batch, 30)
    assert losses[-1] < 0.9 * losses[0], losses
    assert not model.vae.encoder.training and model.vae.decoder.training
    state = model.vae.state_dict()
    for key, value in encoder.items():
        assert torch.equal(state[key], value), key
    assert any(not torch.equal(state[k], v) for k, v in decoder.items())
    log = model.loss(**model.data_preprocessor(batch, True))
    assert set(log) == {'loss_rgb', 'loss_depth', 'loss_normal'}
    images = model.data_preprocessor(batch, False)['inputs']
    out = model.export(str(tmp_path / 'ft'), images)
    loaded = MODELS.build(dict(type='AutoencoderKL', from_pretrained=out))
    assert loaded.config.scaling_factor == 0.4321
    with pytest.raises(ValueError, match="trainable='encoder'"):
        MODELS.build(dict(type='VAEPretrainer', vae=_VAE,
                          trainable='encoder'))


@pytest.mark.parametrize('kind', ['pixart', 'unet'])
def test_text_to_image_pretrainer_trains_denoiser_only(tmp_path, kind):
    from mmengine.config import Config
    family = Config.fromfile(FAMILY)
    from unidense.diffusion.tokenizers import make_word_tokenizer
    from unidense.datasets import SyntheticScenes
    import transformers
    # the family's fixed parts, written to a tmp folder at tiny width
    tok = make_word_tokenizer(SyntheticScenes.vocabulary(), 48)
    tok.save_pretrained(str(tmp_path / 'tokenizer'))
    t5 = transformers.T5EncoderModel(transformers.T5Config(**dict(
        family.text_encoder_architecture, d_model=16, d_kv=8, d_ff=32,
        vocab_size=len(tok))))
    t5.save_pretrained(str(tmp_path / 'text_encoder'))
    vae = MODELS.build(_VAE)
    vae.save_pretrained(str(tmp_path / 'vae'))
    if kind == 'pixart':
        denoiser = dict(type='PixArtTransformer2DModel', config=dict(
            family.transformer_architecture.config, num_layers=1,
            attention_head_dim=8, cross_attention_dim=32,
            caption_channels=16, sample_size=8))
    else:
        denoiser = dict(type='UNet2DConditionModel', config=dict(
            family.unet_architecture.config, block_out_channels=[16, 16],
            down_block_types=['CrossAttnDownBlock2D', 'DownBlock2D'],
            up_block_types=['UpBlock2D', 'CrossAttnUpBlock2D'],
            cross_attention_dim=16, norm_num_groups=8, sample_size=8))
    text = dict(family.text_encoder)
    text['encoders'][0]['tokenizer']['from_pretrained'] = str(tmp_path)
    text['encoders'][0]['encoder']['from_pretrained'] = str(tmp_path)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TextToImagePretrainer', denoiser=denoiser,
        vae=dict(type='AutoencoderKL', from_pretrained=str(tmp_path),
                 subfolder='vae'),
        text_encoder=text, train_scheduler=family.train_scheduler,
        data_preprocessor=dict(type='DenseDataPreprocessor'),
        ema_momentum=0.5))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith('denoiser.') for n in trainable)
    frozen_before = {k: v.clone() for k, v in model.vae.state_dict().items()}
    ema_before = [p.clone() for p in model.ema.module.parameters()]
    batch = _batch(depth=False)
    losses = _steps(model, batch, 25)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]), losses
    for key, value in model.vae.state_dict().items():
        assert torch.equal(frozen_before[key], value)
    assert not model.vae.training
    assert not model.text_encoder.encoders[0].training
    assert any(not torch.equal(a, b) for a, b in zip(
        ema_before, model.ema.module.parameters()))
    folder = model.export(str(tmp_path / 'denoiser'))
    with open(osp.join(folder, 'config.json')) as f:
        assert json.load(f)['_class_name'] in ('PixArtTransformer2DModel',
                                               'UNet2DConditionModel')
    reloaded = MODELS.build(dict(type=denoiser['type'],
                                 from_pretrained=folder))
    for (key, value), ema in zip(reloaded.state_dict().items(),
                                 model.ema.module.state_dict().values()):
        assert torch.equal(value, ema), key


def test_export_is_atomic_and_replaces_old_folder(tmp_path):
    from unidense.models.pretrainers.export import save_pretrained_atomic
    vae = MODELS.build(_VAE)
    out = tmp_path / 'vae'
    save_pretrained_atomic(vae, str(out))
    (out / 'stale.txt').write_text('old')

    class Broken(torch.nn.Module):

        def save_pretrained(self, folder, **kwargs):
            open(osp.join(folder, 'partial.bin'), 'w').close()
            raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        save_pretrained_atomic(Broken(), str(out))
    assert sorted(os.listdir(out)) == sorted(
        ['config.json', 'diffusion_pytorch_model.safetensors', 'stale.txt'])
    assert os.listdir(tmp_path) == ['vae']        # no temporary left over
    save_pretrained_atomic(vae, str(out))
    assert 'stale.txt' not in os.listdir(out)
    assert os.stat(out).st_mode & 0o777 == 0o755


def test_word_tokenizer_round_trip(tmp_path):
    from unidense.datasets import SyntheticScenes
    from unidense.diffusion.tokenizers import (PreTrainedTokenizerFast,
                                               make_word_tokenizer)
    from unidense.diffusion import PretrainedNotFoundError
    words = SyntheticScenes.vocabulary()
    tok = make_word_tokenizer(words, 12)
    tok.save_pretrained(str(tmp_path))
    loaded = PreTrainedTokenizerFast(from_pretrained=str(tmp_path))
    ids = loaded(['a red box, a blue sphere'], padding='max_length',
                 max_length=12, truncation=True)['input_ids'][0]
    vocab = loaded.get_vocab()
    assert ids[:7] == [vocab[w] for w in
                       ('a', 'red', 'box', ',', 'a', 'blue', 'sphere')]
    assert ids[7] == 1 and ids[8:] == [0] * 4          # </s>, then <pad>
    assert loaded(['a unicorn'])['input_ids'][0][1] == 2   # <unk>
    with pytest.raises(ValueError, match='twice'):
        make_word_tokenizer(['red', 'red'])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(PretrainedNotFoundError, match='tokenizer.json'):
        PreTrainedTokenizerFast(from_pretrained=str(tmp_path / 'empty'))
