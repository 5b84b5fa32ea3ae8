"""configs/merge: full-size counts on meta, tiny variants, model index."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(REPO, 'configs', 'merge')

# brief sec. 2.2: counts of the official converter modules on meta
MERGE_B_TRAINABLE = 111_747_488
MERGE_L_TRAINABLE = 1_435_391_552


def _count_params_main():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'count_params.py')
    spec = importlib.util.spec_from_file_location('count_params', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


@pytest.mark.parametrize('name,expected,paper,base', [
    ('pixart_depth.py', MERGE_B_TRAINABLE, 110e6, 610_856_096),
    ('flux_depth.py', MERGE_L_TRAINABLE, 1.4e9, 11_901_408_320),
])
def test_full_config_trainable_counts_on_meta(name, expected, paper, base,
                                              capsys):
    main = _count_params_main()
    total, trainable, frozen = main([osp.join(CFG, name), '--device', 'meta'])
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == (
        f'total={total} trainable={trainable} frozen={frozen}')
    assert trainable == expected
    assert abs(trainable - expected) / expected < 0.01
    # the paper prints two significant digits: 110M (18%), 1.4B (12%)
    assert float(f'{trainable:.2g}') == paper
    backbone_row = [line for line in out.splitlines()
                    if line.startswith('backbone')][0]
    assert f'{base:,}' in backbone_row
    assert round(100 * trainable / base) == (18 if paper < 1e9 else 12)


def test_tiny_configs_only_shrink_the_full_ones():
    for full, tiny in (('pixart_depth.py', 'pixart_depth_tiny.py'),
                       ('flux_depth.py', 'flux_depth_tiny.py')):
        f = Config.fromfile(osp.join(CFG, full))
        t = Config.fromfile(osp.join(CFG, tiny))
        assert f.model.type == t.model.type == 'MERGE'
        assert f.model.fusion.type == t.model.fusion.type
        assert f.model.backbone.transformer.from_pretrained
        assert t.train_dataloader.dataset.type == 'SyntheticScenes'
    # MERGE-B tiny stands on the pretrained tiny family; its control on a
    # random DiT of the same shape, everything else equal
    t = Config.fromfile(osp.join(CFG, 'pixart_depth_tiny.py'))
    r = Config.fromfile(osp.join(CFG, 'pixart_depth_tiny_random.py'))
    zoo = osp.join(REPO, 'model_zoo', 'unidense-tiny')
    for part in (t.model.backbone.transformer, t.model.codec.vae,
                 t.model.text_encoder.encoders[0].encoder):
        assert osp.samefile(part.from_pretrained, zoo)
    assert 'from_pretrained' not in r.model.backbone.transformer
    assert osp.samefile(r.model.backbone.transformer.config, zoo)
    assert r.save_frozen_weights and not t.save_frozen_weights
    t_dict, r_dict = t.to_dict(), r.to_dict()
    for d in (t_dict, r_dict):
        d['model'].pop('backbone'), d.pop('save_frozen_weights')
    assert t_dict == r_dict
    # the FLUX tiny model has no pretrained family member (random MMDiT)
    f = Config.fromfile(osp.join(CFG, 'flux_depth_tiny.py'))
    assert f.model.backbone.transformer.from_pretrained is None
    b = Config.fromfile(osp.join(CFG, 'pixart_depth.py'))
    assert b.optim_wrapper.optimizer.type == 'AdamW'
    assert b.optim_wrapper.optimizer.lr == 1e-4
    assert b.optim_wrapper.optimizer.weight_decay == 0.01
    assert b.optim_wrapper.clip_grad.max_norm == 1.0
    assert b.train_cfg.max_iters == 30000
    assert b.train_dataloader.batch_size * 8 == 32
    assert b.train_dataloader.batch_sampler.prob == [0.9, 0.1]
    assert b.model.multi_res_noise.strength == 0.9
    assert b.model.prediction_type == 'epsilon' and b.model.loss_mask
    assert b.model.train_scheduler.type == 'DDPMScheduler'
    assert b.model.train_scheduler.num_train_timesteps == 1000
    assert b.model.num_inference_steps == 20
    assert b.model.processing_res == dict(default=0, diode=640, eth3d=756)
    l_cfg = Config.fromfile(osp.join(CFG, 'flux_depth.py'))
    assert l_cfg.model.prediction_type == 'flow'
    assert l_cfg.model.fusion.num_groups == (5, 5)


def test_flux_tiny_depth_loss_and_predict():
    from unidense.registry import MODELS
    from unidense.structures import DenseDataSample
    import unidense.models  # noqa: F401
    cfg = Config.fromfile(osp.join(CFG, 'flux_depth_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    samples = []
    for _ in range(2):
        s = DenseDataSample()
        s.gt_depth_norm = torch.rand(1, 32, 32) * 2 - 1
        s.set_metainfo(dict(ori_shape=(30, 33)))
        samples.append(s)
    loss = model.loss(x, samples)['loss_mse']
    loss.backward()
    assert model.fusion.single_converters[0].proj_out.weight.grad is not None
    assert all(p.grad is None for p in model.backbone.parameters())
    out = model.predict(x, samples)
    assert out[1].pred_depth.data.shape == (1, 30, 33)


def test_model_index_lists_merge_metafile():
    import yaml
    index = yaml.safe_load(open(osp.join(REPO, 'model-index.yml')))
    assert 'configs/merge/metafile.yaml' in index['Import']
    meta = yaml.safe_load(open(osp.join(CFG, 'metafile.yaml')))
    names = {m['Name'] for m in meta['Models']}
    assert {'merge-b_pixart-xl-2-512_hypersim-vkitti',
            'merge-l_flux1-dev_hypersim-vkitti'} <= names
    for m in meta['Models']:
        assert osp.isfile(osp.join(REPO, m['Config']))
        for res in m['Results']:
            if '_tiny' in m['Config']:   # measured here, with the protocol
                assert res['Measured'] is True and res['Protocol']
            else:
                assert res['Published'] is True
    b = [m for m in meta['Models'] if m['Name'].startswith('merge-b')][0]
    nyu = [r for r in b['Results'] if r['Dataset'] == 'NYUv2'][0]
    assert nyu['Metrics'] == {'AbsRel': 7.5, 'Delta1': 94.2}


def test_flux_tiny_t2i_is_bitwise_the_diffusers_pipeline():
    from diffusers import FluxPipeline
    from unidense.registry import DIFFUSION_SCHEDULERS, MODELS
    import unidense.models  # noqa: F401
    cfg = Config.fromfile(osp.join(CFG, 'flux_depth_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).set_mode('t2i')
    pipe = FluxPipeline(
        scheduler=DIFFUSION_SCHEDULERS.build(cfg.model.test_scheduler),
        vae=model.codec.vae, text_encoder=None, tokenizer=None,
        text_encoder_2=None, tokenizer_2=None,
        transformer=model.backbone.transformer)
    pipe.set_progress_bar_config(disable=True)
    enc = model.text_encoder.encode(['a red box', 'a room'])
    kw = dict(prompt_embeds=enc['embeds'],
              pooled_prompt_embeds=enc['pooled'], height=64, width=64,
              num_inference_steps=3, guidance_scale=3.5)
    ref = pipe(output_type='pt', generator=torch.Generator().manual_seed(4),
               **kw).images
    ours = model.generate(generator=torch.Generator().manual_seed(4), **kw)
    assert ours.shape == ref.shape == (2, 3, 64, 64)
    assert torch.equal(ours, ref)
