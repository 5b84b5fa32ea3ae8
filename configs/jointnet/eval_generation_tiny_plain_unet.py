# The control of eval_generation_tiny.py: the plain frozen tiny UNet of the
# pretrained family (model_zoo/unidense-tiny), same prompts, steps, CFG,
# seeds and metric.
#   python tools/test.py configs/jointnet/eval_generation_tiny_plain_unet.py
_base_ = ['./eval_generation_tiny.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(
    _delete_=True, type='GenerationEvaluator',
    generator=dict(
        denoiser=dict(type='UNet2DConditionModel', from_pretrained=_zoo,
                      subfolder='unet'),
        vae=dict(type='AutoencoderKL', from_pretrained=_zoo, subfolder='vae'),
        text_encoder={{_base_.model.model.text_encoder}},
        scheduler={{_base_.model.model.test_scheduler}}),
    data_preprocessor=dict(type='DenseDataPreprocessor'),
    generate_kwargs=dict(num_inference_steps=20, guidance_scale=3.0),
    cache_dir='work_dirs/eval_generation_tiny_plain_unet/images', seed=0)
