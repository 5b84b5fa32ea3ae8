"""BaseDenseEstimator: what every dense estimator gets from the base."""
import pytest
import torch
import torch.nn as nn

from unidense.models.estimators import BaseDenseEstimator
from unidense.structures import DenseDataSample


class CountingTextEncoder(nn.Module):
    """encode(prompts) -> dict(embeds (B, 3, 4), mask (B, 3), pooled=None)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(1, 4)
        self.calls = 0

    def encode(self, prompts):
        self.calls += 1
        x = torch.tensor([[float(len(p))] for p in prompts])
        embeds = self.proj(x)[:, None].expand(-1, 3, -1)
        return dict(embeds=embeds, mask=torch.ones(len(prompts), 3,
                                                   dtype=torch.bool),
                    pooled=None)


class ToyEstimator(BaseDenseEstimator):
    """Frozen 'backbone' (conv + dropout) and a trainable 1x1 head."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1),
                                      nn.Dropout(0.5))
        self.text_encoder = CountingTextEncoder()
        self.head = nn.Conv2d(4, 1, 1)
        self.freeze_parts('backbone', 'text_encoder')

    @property
    def size_multiple(self):
        return 8

    def _forward(self, inputs, data_samples=None):
        return self.head(self.backbone(inputs))

    def loss(self, inputs, data_samples):
        return dict(loss_toy=self._forward(inputs).square().mean())

    def predict(self, inputs, data_samples=None):
        x, size = self.resize_for_processing(
            inputs, self.processing_res_for(data_samples))
        return self.restore_predictions(self._forward(x), size,
                                        data_samples, 'pred_depth')


def _samples(n, **meta):
    out = []
    for i in range(n):
        s = DenseDataSample()
        s.set_metainfo(dict(ori_shape=(20, 30), sample_idx=i, **meta))
        out.append(s)
    return out


def test_dispatch_freezing_and_prompt_cache():
    model = ToyEstimator()
    x = torch.randn(2, 3, 16, 24)
    assert set(model(x, _samples(2), mode='loss')) == {'loss_toy'}
    assert model(x, mode='tensor').shape == (2, 1, 16, 24)
    out = model(x, _samples(2), mode='predict')
    assert out[0].pred_depth.data.shape == (1, 20, 30)  # ori_shape
    with pytest.raises(RuntimeError, match="invalid mode 'bad'"):
        model(x, mode='bad')
    model.train()
    assert model.head.training and not model.backbone.training
    assert not model.text_encoder.training
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head.weight', 'head.bias'}
    # the prompt is encoded once, then expanded to any batch size
    for b in (1, 3, 5):
        text = model.encode_prompt(b)
        assert text['embeds'].shape == (b, 3, 4) and text['pooled'] is None
    assert model.text_encoder.calls == 1
    model.encode_prompt(2, prompt='a room')
    assert model.text_encoder.calls == 2


def test_processing_resolution_and_restore():
    model = ToyEstimator(processing_res=dict(default=0, diode=40))
    x = torch.randn(1, 3, 16, 24)
    diode = _samples(1, protocol='diode')
    assert model.processing_res_for(diode) == 40
    assert model.processing_res_for(_samples(1)) == 0
    resized, size = model.resize_for_processing(x, 40)
    assert resized.shape[-2:] == (24, 40) and size == (16, 24)
    with pytest.raises(ValueError, match='mixes'):
        model.processing_res_for(diode + _samples(1))
    out = model.predict(x, diode)
    assert out[0].pred_depth.data.shape == (1, 20, 30)


def test_evaluation_seeds_follow_the_sample_not_the_batch():
    model = ToyEstimator(eval_seed=10)
    samples = _samples(3)
    seeds = model.eval_noise_seeds(samples, 3)
    assert seeds == [10, 11, 12]
    like = torch.zeros(1)
    batch = model.seeded_noise(seeds, (2, 4), like)
    alone = model.seeded_noise(seeds[2:], (2, 4), like)
    assert batch.shape == (6, 4) and torch.equal(batch[4:], alone)
    model.eval_seed = None
    assert model.eval_noise_seeds(samples, 3) is None
    model.train_seed = 3
    g1 = model.train_generators(samples)
    g2 = model.train_generators(samples[1:])
    assert torch.equal(torch.randn(2, generator=g1[1]),
                       torch.randn(2, generator=g2[0]))
