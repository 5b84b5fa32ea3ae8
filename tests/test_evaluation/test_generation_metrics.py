"""FID, Inception Score and intra-LPIPS on torchmetrics, with injected
small extractors (nothing is downloaded)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import linalg

pytest.importorskip('torchmetrics')
pytest.importorskip('torch_fidelity')

from unidense.evaluation.metrics import (FIDMetric,  # noqa: E402
                                         InceptionScoreMetric,
                                         IntraLPIPSMetric, panorama_crops)

REFERENCE = dict(type='SyntheticScenes', num_samples=12, img_size=32,
                 seed=1000, test_mode=True,
                 pipeline=[dict(type='LoadImage'),
                           dict(type='PackDenseInputs')])


class TinyFeatures(nn.Module):
    """uint8 (B, 3, H, W) -> (B, 8): fixed random projection of pooled
    pixels (float64 inside: comparisons stay exact to 1e-6)."""
    num_features = 8

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer('w', torch.randn(3 * 16, 8, generator=g))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(x.float() / 255, 4)
        return torch.tanh(x.flatten(1) @ self.w)


def _samples(imgs):
    return [dict(pred_img=i) for i in imgs]


def _scene_images(n, seed):
    from mmengine.registry import init_default_scope

    from unidense.registry import DATASETS
    init_default_scope('unidense')
    ds = DATASETS.build(dict(REFERENCE, num_samples=n, seed=seed))
    return torch.stack([ds[i]['inputs'] for i in range(n)])


def _frechet(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2)**2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_equals_a_direct_frechet_computation():
    metric = FIDMetric(reference=REFERENCE, feature_extractor=TinyFeatures())
    fake = _scene_images(12, seed=5)
    metric.process({}, _samples(fake[:6]))
    metric.process({}, _samples(fake[6:]))   # two batches = one
    got = metric.evaluate(12)['gen/fid']
    ext = TinyFeatures()
    real = ext(_scene_images(12, seed=1000)).double().numpy()
    want = _frechet(real, ext(fake).double().numpy())
    assert got == pytest.approx(want, rel=1e-4, abs=1e-6)
    # the reference itself scores ~0; a shifted set scores more
    metric.process({}, _samples(_scene_images(12, seed=1000)))
    assert metric.evaluate(12)['gen/fid'] == pytest.approx(0, abs=1e-4)
    metric.process({}, _samples((fake.float() * 0.3).to(torch.uint8)))
    assert metric.evaluate(12)['gen/fid'] > got


def test_inception_score_of_uniform_logits_is_one():
    class Uniform(nn.Module):
        def forward(self, x):
            return torch.zeros(len(x), 10)
    metric = InceptionScoreMetric(splits=2, feature_extractor=Uniform())
    metric.process({}, _samples(torch.randint(0, 255, (8, 3, 16, 16),
                                              dtype=torch.uint8)))
    out = metric.evaluate(8)
    assert out['gen/is'] == pytest.approx(1.0, abs=1e-6)


def test_intra_lpips_averages_the_six_crop_pairs():
    class L1(nn.Module):   # a stand-in distance: mean absolute difference
        def forward(self, a, b):
            return (a - b).abs().flatten(1).mean(1)
    metric = IntraLPIPSMetric(net=L1())
    g = torch.Generator().manual_seed(0)
    panos = torch.randint(0, 255, (2, 3, 8, 32), dtype=torch.uint8,
                          generator=g)
    metric.process({}, _samples(panos))
    got = metric.evaluate(2)['gen/intra_lpips']
    want = []
    for p in panos:
        crops = panorama_crops(p.float() / 127.5 - 1)
        assert crops.shape == (4, 3, 8, 8)
        want.append(np.mean([(crops[i] - crops[j]).abs().mean().item()
                             for i in range(4) for j in range(i + 1, 4)]))
    assert metric.pairs == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert got == pytest.approx(float(np.mean(want)), rel=1e-6)


def test_missing_weights_are_named_never_downloaded(tmp_path):
    with pytest.raises(FileNotFoundError, match='inception_weights'):
        FIDMetric(reference=REFERENCE)
    missing = str(tmp_path / 'pt_inception.pth')
    with pytest.raises(FileNotFoundError, match='pt_inception.pth'):
        InceptionScoreMetric(inception_weights=missing)
    with pytest.raises(FileNotFoundError, match='alexnet'):
        IntraLPIPSMetric()
    metric = InceptionScoreMetric(feature_extractor=TinyFeatures())
    with pytest.raises(ValueError, match='no generated image'):
        metric.evaluate(0)
    with pytest.raises(KeyError, match='pred_img'):
        metric.process({}, [dict(img=torch.zeros(3, 4, 4))])


class _TinyProcessor:
    """CLIP-processor stand-in: bytes as tokens, images resized."""

    def __call__(self, text=None, images=None, return_tensors='pt',
                 padding=True):
        from unidense.diffusion.byte_tokenizer import ByteTokenizer
        if text is not None:
            out = ByteTokenizer(model_max_length=16)(
                text, padding='max_length', max_length=16, truncation=True,
                return_tensors='pt')
            return dict(input_ids=out['input_ids'],
                        attention_mask=out['attention_mask'])
        x = torch.stack([i.float() / 255 for i in images])
        x = nn.functional.interpolate(x, size=(16, 16), mode='bilinear',
                                      align_corners=False)
        return dict(pixel_values=x * 2 - 1)


def _tiny_clip():
    from transformers import CLIPConfig, CLIPModel
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config=dict(hidden_size=16, intermediate_size=32,
                         num_attention_heads=2, num_hidden_layers=1,
                         max_position_embeddings=16, vocab_size=259,
                         bos_token_id=257, eos_token_id=258, pad_token_id=0),
        vision_config=dict(hidden_size=16, intermediate_size=32,
                           num_attention_heads=2, num_hidden_layers=1,
                           image_size=16, patch_size=8),
        projection_dim=8)
    return CLIPModel(cfg).eval()


def _features(out):
    return getattr(out, 'pooler_output', out)


def test_clip_score_equals_the_hand_computation():
    from unidense.evaluation.metrics import CLIPScoreMetric
    model, proc = _tiny_clip(), _TinyProcessor()
    metric = CLIPScoreMetric(model=model, processor=proc)
    imgs = torch.randint(0, 255, (3, 3, 20, 20), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(1))
    prompts = ['a red room', 'a blue box', 'a green floor']
    metric.process({}, [dict(pred_img=i, caption=p)
                        for i, p in zip(imgs, prompts)])
    got = metric.evaluate(3)['gen/clip_score']
    with torch.no_grad():
        e_i = _features(model.get_image_features(
            proc(images=list(imgs))['pixel_values']))
        t = proc(text=prompts)
        e_t = _features(model.get_text_features(t['input_ids'],
                                                t['attention_mask']))
    cos = nn.functional.cosine_similarity(e_i, e_t, dim=-1)
    want = (100 * cos).clamp(min=0).mean().item()
    assert got == pytest.approx(want, rel=1e-5, abs=1e-5)
    with pytest.raises(FileNotFoundError, match='local'):
        CLIPScoreMetric(clip_model='openai/clip-vit-large-patch14')


def test_fid_from_precomputed_statistics_equals_the_dataset_route(tmp_path):
    ext = TinyFeatures()
    real = ext(_scene_images(12, seed=1000)).double().numpy()
    stats = tmp_path / 'ref.npz'
    np.savez(stats, mu=real.mean(0), sigma=np.cov(real, rowvar=False),
             num_samples=len(real))
    fake = _scene_images(12, seed=5)
    a = FIDMetric(reference=REFERENCE, feature_extractor=TinyFeatures())
    b = FIDMetric(reference=str(stats), feature_extractor=TinyFeatures())
    for m in (a, b):
        m.process({}, _samples(fake))
    assert b.evaluate(12)['gen/fid'] == pytest.approx(
        a.evaluate(12)['gen/fid'], rel=1e-6, abs=1e-9)
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        m = FIDMetric(reference=str(tmp_path / 'missing.npz'),
                      feature_extractor=TinyFeatures())
        m.process({}, _samples(fake))


def test_random_conv_features_are_seeded():
    from unidense.evaluation.metrics.generation_metrics import \
        RandomConvFeatures
    x = torch.randint(0, 255, (2, 3, 40, 40), dtype=torch.uint8)
    a, b = RandomConvFeatures(seed=0)(x), RandomConvFeatures(seed=0)(x)
    assert a.shape == (2, 64) and torch.equal(a, b)
    assert not torch.equal(a, RandomConvFeatures(seed=1)(x))
