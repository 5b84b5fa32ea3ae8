"""ByteTokenizer, HF tokenizer factories and the scheduler factories."""
import pytest
import torch

from unidense.diffusion import ByteTokenizer, PretrainedNotFoundError
from unidense.registry import DIFFUSION_SCHEDULERS, TASK_UTILS


def test_byte_tokenizer_hf_like_call():
    tok = TASK_UTILS.build(dict(type='ByteTokenizer', model_max_length=8))
    out = tok(['ab', '', 'a long caption'], padding='max_length',
              max_length=8, truncation=True, return_tensors='pt')
    ids, mask = out['input_ids'], out['attention_mask']
    assert ids.shape == mask.shape == (3, 8) and ids.dtype == torch.long
    assert ids[0].tolist() == [257, ord('a') + 1, ord('b') + 1, 258, 0, 0, 0,
                               0]
    assert mask[0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert ids[1, :2].tolist() == [257, 258] and mask[1].sum() == 2
    assert ids[2, -1] == 258 and mask[2].all()  # truncated, eos kept
    assert tok.decode(ids[0]) == 'ab'
    again = tok(['ab', '', 'a long caption'], max_length=8)
    assert torch.equal(again['input_ids'], ids)  # deterministic
    assert tok('é', padding=False, return_tensors=None)['input_ids'] == [
        257, 0xC3 + 1, 0xA9 + 1, 258]
    with pytest.raises(ValueError, match='truncation'):
        tok('abcdefghijk', max_length=4, truncation=False)
    t5 = ByteTokenizer(add_bos=False)
    assert t5('a', max_length=3)['input_ids'].tolist() == [[98, 258, 0]]


def test_hf_tokenizer_offline_miss():
    for name in ('CLIPTokenizer', 'T5Tokenizer'):
        with pytest.raises(PretrainedNotFoundError, match='nobody/tok'):
            TASK_UTILS.build(dict(type=name, from_pretrained='nobody/tok',
                                  subfolder='tokenizer'))


@pytest.mark.parametrize('name', [
    'DDPMScheduler', 'DDIMScheduler', 'DPMSolverMultistepScheduler',
    'FlowMatchEulerDiscreteScheduler'
])
def test_schedulers_are_real_diffusers_objects(name, tmp_path):
    import diffusers
    sched = DIFFUSION_SCHEDULERS.build(dict(type=name,
                                            num_train_timesteps=100))
    assert type(sched) is getattr(diffusers, name)
    assert sched.config.num_train_timesteps == 100
    sched.set_timesteps(4)
    assert len(sched.timesteps) == 4
    x = torch.randn(1, 4, 4, 4)
    out = sched.step(torch.zeros_like(x), sched.timesteps[0], x)
    assert out.prev_sample.shape == x.shape
    # save -> from_pretrained(subfolder) and config (folder) + override
    sched.save_config(tmp_path / 'scheduler')
    loaded = DIFFUSION_SCHEDULERS.build(dict(
        type=name, from_pretrained=str(tmp_path), subfolder='scheduler'))
    assert loaded.config.num_train_timesteps == 100
    cfg = DIFFUSION_SCHEDULERS.build(dict(
        type=name, config=str(tmp_path), subfolder='scheduler',
        num_train_timesteps=50))
    assert cfg.config.num_train_timesteps == 50


def test_ddpm_add_noise_matches_formula():
    sched = DIFFUSION_SCHEDULERS.build(dict(
        type='DDPMScheduler', beta_start=0.00085, beta_end=0.012,
        beta_schedule='scaled_linear'))
    z, eps = torch.randn(2, 4, 2, 2), torch.randn(2, 4, 2, 2)
    t = torch.tensor([0, 999])
    ab = sched.alphas_cumprod[t].view(2, 1, 1, 1)
    torch.testing.assert_close(sched.add_noise(z, eps, t),
                               ab.sqrt() * z + (1 - ab).sqrt() * eps)
    assert abs(float(1 - sched.alphas_cumprod[0]) - 0.00085) < 1e-7


def test_scheduler_offline_miss():
    with pytest.raises(PretrainedNotFoundError, match='nobody/s/scheduler'):
        DIFFUSION_SCHEDULERS.build(dict(type='DDIMScheduler',
                                        from_pretrained='nobody/s',
                                        subfolder='scheduler'))


@pytest.mark.parametrize('name', ['DDPMScheduler', 'DDIMScheduler',
                                  'DPMSolverMultistepScheduler',
                                  'FlowMatchEulerDiscreteScheduler'])
def test_schedulers_build_on_cpu_inside_meta_device_build(name):
    # count_params --device meta builds whole estimators, schedulers included
    from unidense.diffusion import meta_device_build
    from unidense.registry import DIFFUSION_SCHEDULERS
    with meta_device_build():
        scheduler = DIFFUSION_SCHEDULERS.build(dict(type=name))
    scheduler.set_timesteps(4)
    assert scheduler.timesteps.device.type == 'cpu'
