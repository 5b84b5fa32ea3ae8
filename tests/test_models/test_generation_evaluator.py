"""Generation evaluation through tools/test.py: PromptSetDataset,
GenerationEvaluator (cached, resumable) and the generation metrics."""
import json
import os
import os.path as osp

import pytest
import torch

pytest.importorskip('torchmetrics')

from mmengine.registry import init_default_scope  # noqa: E402

from unidense.registry import DATASETS  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _build(**kwargs):
    init_default_scope('unidense')
    return DATASETS.build(dict(type='PromptSetDataset', **kwargs))


def test_prompt_sets_from_coco_text_and_a_dataset(tmp_path):
    coco = tmp_path / 'captions_val2014.json'
    coco.write_text(json.dumps(dict(annotations=[
        dict(image_id=i, caption=f' caption {i} ') for i in range(10)])))
    a = _build(ann_file=str(coco), num_prompts=4, seed=3)
    b = _build(ann_file=str(coco), num_prompts=4, seed=3)
    prompts = [a[i]['data_samples'].caption for i in range(4)]
    assert prompts == [b[i]['data_samples'].caption for i in range(4)]
    assert len(set(prompts)) == 4 and all(p.startswith('caption')
                                          for p in prompts)
    assert a[0]['data_samples'].metainfo['prompt_idx'] == int(
        prompts[0].split()[-1])
    lines = tmp_path / 'prompts.txt'
    lines.write_text('a red room\n\na blue box\n')
    assert len(_build(ann_file=str(lines))) == 2
    scenes = _build(source=dict(type='SyntheticScenes', num_samples=3,
                                img_size=32, seed=1000, test_mode=True))
    assert len(scenes) == 3 and 'room' in scenes[0]['data_samples'].caption
    with pytest.raises(ValueError, match='asked'):
        _build(ann_file=str(coco), num_prompts=11)
    with pytest.raises(FileNotFoundError, match='nope.json'):
        _build(ann_file=str(tmp_path / 'nope.json'))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_generation_evaluation_runs_from_the_config_and_resumes(tmp_path):
    from tools.test import main
    config = osp.join(REPO, 'configs', 'jointnet',
                      'eval_generation_tiny_plain_unet.py')
    cache = tmp_path / 'images'
    opts = ['test_dataloader.dataset.num_prompts=3',
            'test_dataloader.batch_size=2',
            'model.generate_kwargs.num_inference_steps=2',
            f'model.cache_dir={cache}']
    out1, out2 = tmp_path / 'a.json', tmp_path / 'b.json'
    main([config, '--work-dir', str(tmp_path / 'w1'), '--out', str(out1),
          '--cfg-options'] + opts)
    pngs = sorted(cache.glob('*.png'))
    assert len(pngs) == 3
    stamps = [p.stat().st_mtime_ns for p in pngs]
    main([config, '--work-dir', str(tmp_path / 'w2'), '--out', str(out2),
          '--cfg-options'] + opts)
    assert [p.stat().st_mtime_ns for p in pngs] == stamps   # reused
    a, b = json.loads(out1.read_text()), json.loads(out2.read_text())
    assert a['gen/fid'] == b['gen/fid'] and a['gen/fid'] > 0
    # the scene classifier's Inception Score and CLIP score come with it
    assert a['gen/is'] == b['gen/is'] and a['gen/is'] >= 1
    assert 0 <= a['gen/clip_score'] <= 100


def test_an_estimator_checkpoint_loads_into_the_wrapped_model(tmp_path):
    import torch

    from unidense.apis import init_model
    from unidense.utils.checkpoint_io import save_checkpoint_atomic
    from unidense.utils.trainable_state import trainable_state_dict
    trained = init_model(osp.join(REPO, 'configs', 'merge',
                                  'pixart_depth_tiny.py'))
    state = {k: v + 0.5 for k, v in trainable_state_dict(trained).items()}
    ckpt = str(tmp_path / 'merge.pth')
    save_checkpoint_atomic(dict(state_dict=state, meta=dict(unidense=dict(
        trainable_only=True))), ckpt)
    evaluator = init_model(osp.join(REPO, 'configs', 'merge',
                                    'eval_t2i_tiny.py'), ckpt)
    got = trainable_state_dict(evaluator.model)
    assert sorted(got) == sorted(state)
    assert all(torch.equal(got[k], state[k]) for k in state)


def test_a_cache_from_another_generator_is_refused(tmp_path):
    """Scoring a second checkpoint into the first one's image folder would
    silently score the first one's images: the fingerprint stops it."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import MODELS
    from unidense.structures import DenseDataSample
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'jointnet',
                                   'eval_generation_tiny_plain_unet.py'))
    cache = str(tmp_path / 'images')
    cfg.model.update(cache_dir=cache, generate_kwargs=dict(
        num_inference_steps=2, guidance_scale=1.0))
    sample = DenseDataSample(metainfo=dict(prompt='a red room',
                                           prompt_idx=0))
    first = MODELS.build(cfg.model)
    first.predict(None, [sample])
    assert sorted(os.listdir(cache)) == ['000000.png', 'generator.json']
    MODELS.build(cfg.model).predict(None, [sample])        # same: reused
    other = MODELS.build(cfg.model)
    with torch.no_grad():
        next(other.parts['denoiser'].parameters()).add_(0.01)
    with pytest.raises(ValueError, match='another generator'):
        other.predict(None, [sample])
    cfg.model.generate_kwargs['num_inference_steps'] = 3
    with pytest.raises(ValueError, match='another generator'):
        MODELS.build(cfg.model).predict(None, [sample])
    os.remove(osp.join(cache, 'generator.json'))
    with pytest.raises(ValueError, match='no generator.json'):
        MODELS.build(cfg.model).predict(None, [sample])
