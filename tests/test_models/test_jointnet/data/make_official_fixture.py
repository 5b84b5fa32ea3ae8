"""Make ``official_tiny/``: JointNet folders written by the *official* code.

Not a test; run once in a throw-away environment with the official
``apple/ml-jointnet`` code (commit c0f7f79) and its pinned diffusers 0.19.3::

    pip install --no-deps --target /tmp/jn/pkgs diffusers==0.19.3 \\
        huggingface_hub==0.16.4
    git -C ml-jointnet show HEAD:jointnet.py > /tmp/jn/jointnet.py
    git -C ml-jointnet show HEAD:jointnet_pipeline.py \\
        > /tmp/jn/jointnet_pipeline.py
    PYTHONPATH=/tmp/jn/pkgs:/tmp/jn python make_official_fixture.py OUT

(torch comes from the unidense venv; ``transformers`` is hidden, since only
the UNet classes and ``denoiseV2`` are used). It writes, for a tiny SD-2.1
style UNet (4 levels, 2 layers per block: 12 skips as SD):

* ``rgbd_finetune/{unet,jointnet}/``: ``JointNetModel.from_unet`` twice,
  then random weights everywhere (the joint branch and every
  ``jointnet_*`` conv differ from the RGB UNet, as after training); ``unet``
  saved as ``.bin`` (0.19.3's default), ``jointnet`` as ``.safetensors``;
  saved configs carry ``"joint_in_channels": null`` (brief §3.4);
* ``rgbd_inpaint/{unet,jointnet}/``: the RGB branch built with
  ``has_masked_latent_input=True``, the joint branch extended later with
  ``extend_masked_latent_conv()`` - whose saved config says ``false``
  although its weights hold the 10-channel conv (the released quirk);
* ``io.safetensors``: inputs and the official ``denoiseV2`` outputs of
  both models (fp32, CPU).
"""
import importlib.util
import os.path as osp
import sys
import types

import torch

_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a, **k: None if name.split(
    '.')[0] == 'transformers' else _find_spec(name, *a, **k)
_stub = types.ModuleType('transformers')


def _stub_attr(name):
    if name.startswith('__'):
        raise AttributeError(name)
    return type(name, (), {})


_stub.__getattr__ = _stub_attr
sys.modules['transformers'] = _stub

from diffusers import UNet2DConditionModel  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from jointnet import JointNetModel  # noqa: E402
from jointnet_pipeline import denoiseV2  # noqa: E402

UNET = dict(
    sample_size=8, in_channels=4, out_channels=4,
    block_out_channels=(4, 8, 8, 8), layers_per_block=2,
    down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                    'CrossAttnUpBlock2D'),
    attention_head_dim=(2, 2, 2, 2), cross_attention_dim=8,
    norm_num_groups=2, use_linear_projection=True, flip_sin_to_cos=True,
    freq_shift=0)


def randomise(module, gen):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


def main(out):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**UNET)
    x = torch.randn(2, 8, 8, 8, generator=gen)
    t = torch.tensor([10, 700])
    text = torch.randn(2, 5, 8, generator=gen)
    masks = (torch.rand(2, 2, 8, 8, generator=gen) > 0.5).float()
    masked = torch.randn(2, 8, 8, 8, generator=gen)
    io = dict(x=x, t=t, text=text, masks=masks, masked=masked)
    for name, inpaint in (('rgbd_finetune', False), ('rgbd_inpaint', True)):
        rgb = JointNetModel.from_unet(unet, has_masked_latent_input=inpaint)
        joint = JointNetModel.from_unet(unet)
        if inpaint:
            joint.extend_masked_latent_conv()  # saved config says false
        randomise(rgb, gen)
        randomise(joint, gen)
        rgb.eval()
        joint.eval()
        folder = osp.join(out, name)
        rgb.save_pretrained(osp.join(folder, 'unet'),
                            safe_serialization=False)
        joint.save_pretrained(osp.join(folder, 'jointnet'),
                              safe_serialization=True)
        if inpaint:
            # 9-channel branch inputs [latent, mask, masked latent]
            inp = torch.cat([x[:, :4], masks[:, :1], masked[:, :4],
                             x[:, 4:], masks[:, 1:], masked[:, 4:]], dim=1)
        else:
            inp = x
        with torch.no_grad():
            io[name] = denoiseV2(joint, rgb, inp, t, text, None)
    save_file({k: v.contiguous() for k, v in io.items()},
              osp.join(out, 'io.safetensors'))
    print('wrote', out, {k: tuple(v.shape) for k, v in io.items()})


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else osp.join(
        osp.dirname(osp.abspath(__file__)), 'official_tiny'))
