"""DenseDataPreprocessor: uint8 images -> normalised, padded batch tensor."""
from numbers import Number
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from unidense.registry import MODELS
from unidense.structures import gt_pad_values

# Pad values of ground-truth maps: the sample-field table's, as the
# pipeline's PadToMultiple uses
_GT_PAD = gt_pad_values()


@MODELS.register_module()
class DenseDataPreprocessor(BaseDataPreprocessor):
    """Stack, pad and normalise a batch from :class:`PackDenseInputs`.

    Input: ``dict(inputs=list of uint8 (3, H_i, W_i) RGB tensors (or a
    (B, 3, H, W) tensor), data_samples=list of DenseDataSample)``.

    Output: ``dict(inputs=(B, 3, H, W) float32 in [-1, 1] (with the default
    mean = std = 127.5), data_samples=...)`` on the model's device. Images
    are padded bottom/right to the largest H, W of the batch (rounded up to
    ``size_divisor`` if given) with ``pad_value`` (uint8 scale, 0 = black as
    in ``PadToMultiple``) before normalising. Each sample's ``padding``
    (top, bottom, left, right) and ``pad_shape`` are updated so
    :func:`restore_to_original` undoes pipeline and batch padding together,
    and ``batch_input_shape`` is set. With ``pad_gt`` the sample's
    ground-truth maps of the image's size are padded the same way with the
    sample-field table's pad values (depth 0, masks False, labels 255; edge
    and saliency-valid maps too) so models can stack them.

    Args:
        mean, std: per-channel or scalar, on the 0..255 scale.
        size_divisor: round the batch size up to a multiple (8 for a VAE).
        pad_value: image pad value on the 0..255 scale.
        bgr_to_rgb: swap channels (inputs from unidense pipelines are RGB).
        pad_gt: pad ground-truth maps along with the image.
    """

    def __init__(self, mean: Union[Number, Sequence[Number]] = 127.5,
                 std: Union[Number, Sequence[Number]] = 127.5,
                 size_divisor: Optional[int] = None, pad_value: float = 0,
                 bgr_to_rgb: bool = False, pad_gt: bool = True,
                 non_blocking: bool = False):
        super().__init__(non_blocking)
        # explicit CPU: the check below must read values even when the model
        # is built inside a meta-device context (count_params --device meta)
        mean = torch.as_tensor(mean, dtype=torch.float32,
                               device='cpu').reshape(-1, 1, 1)
        std = torch.as_tensor(std, dtype=torch.float32,
                              device='cpu').reshape(-1, 1, 1)
        if mean.numel() not in (1, 3) or std.numel() not in (1, 3):
            raise ValueError('DenseDataPreprocessor: mean/std must be a '
                             'scalar or 3 values')
        if (std == 0).any():
            raise ValueError('DenseDataPreprocessor: std must be non-zero')
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('std', std, persistent=False)
        self.size_divisor = size_divisor
        self.pad_value = float(pad_value)
        self.bgr_to_rgb = bgr_to_rgb
        self.pad_gt = pad_gt

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() == 3:
                inputs = [inputs]
            elif inputs.dim() == 4:
                inputs = list(inputs)
            else:
                raise ValueError(f'DenseDataPreprocessor: inputs must be '
                                 f'(B, 3, H, W), got {tuple(inputs.shape)}')
        if not inputs:
            raise ValueError('DenseDataPreprocessor: empty batch')
        for i, img in enumerate(inputs):
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(f'DenseDataPreprocessor: inputs[{i}] must '
                                 f'be (3, H, W), got {tuple(img.shape)}')
        if samples is not None and len(samples) != len(inputs):
            raise ValueError(f'DenseDataPreprocessor: {len(inputs)} inputs '
                             f'but {len(samples)} data_samples')
        th = max(int(x.shape[1]) for x in inputs)
        tw = max(int(x.shape[2]) for x in inputs)
        if self.size_divisor:
            d = int(self.size_divisor)
            th, tw = -(-th // d) * d, -(-tw // d) * d
        batch = []
        for i, img in enumerate(inputs):
            h, w = int(img.shape[1]), int(img.shape[2])
            x = img.float()
            if self.bgr_to_rgb:
                x = x.flip(0)
            x = F.pad(x, (0, tw - w, 0, th - h), value=self.pad_value)
            batch.append((x - self.mean) / self.std)
            if samples is not None:
                self._update_sample(samples[i], (h, w), (th, tw))
        return dict(inputs=torch.stack(batch), data_samples=samples)

    def _update_sample(self, sample, hw, target):
        h, w = hw
        th, tw = target
        extra_b, extra_r = th - h, tw - w
        pad = sample.metainfo.get('padding', (0, 0, 0, 0))
        meta = dict(batch_input_shape=(th, tw), pad_shape=(th, tw),
                    padding=(int(pad[0]), int(pad[1]) + extra_b,
                             int(pad[2]), int(pad[3]) + extra_r))
        sample.set_metainfo(meta)
        if not self.pad_gt or (extra_b == 0 and extra_r == 0):
            return
        for name, value in _GT_PAD.items():
            field = getattr(sample, name, None)
            if field is None or tuple(field.data.shape[-2:]) != (h, w):
                continue
            t = field.data
            if t.dtype == torch.bool:
                padded = F.pad(t.to(torch.uint8), (0, extra_r, 0, extra_b),
                               value=int(value)).bool()
            else:
                padded = F.pad(t, (0, extra_r, 0, extra_b), value=value)
            setattr(sample, name, padded)


def built_preprocessor(data_preprocessor):
    """A model's ``data_preprocessor`` argument, a config dict built from
    unidense's registry (so the model also builds outside a runner, where
    no default scope is set), for mmengine's ``BaseModel.__init__``."""
    if isinstance(data_preprocessor, dict):
        return MODELS.build(data_preprocessor)
    return data_preprocessor
