"""The inference API: build a model, estimate dense maps, generate images.

    from unidense.apis import init_model, inference_dense, generate
    model = init_model('configs/merge/pixart_depth_tiny.py', 'iter_1000.pth')
    depth = inference_dense(model, 'photos/', task='depth', ensemble_size=4)
    depth[0].data          # (H, W) float32 at the input's size
    depth[0].kind          # 'affine_invariant_depth'
    images = generate(init_model('configs/jointnet/sd21_rgbd_tiny.py', ckpt),
                      ['a room with red walls'])

Dense inference runs the same path as ``tools/test.py`` (the model's data
preprocessor, then ``predict``), so results equal the evaluated ones.
"""
import contextlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from .inputs import ImageInput, batched, load_inputs

#: task name -> the prediction field holding it
TASK_FIELDS = {
    'depth': 'pred_depth',
    'normals': 'pred_normal',
    'seg': 'pred_sem_seg',
    'parsing': 'pred_parsing',
    'saliency': 'pred_saliency',
    'edge': 'pred_edge',
}
#: uncertainty fields attached to a task's map
UNCERTAINTY_FIELDS = {
    'depth': 'pred_depth_uncertainty',
    'normals': 'pred_normal_uncertainty',
}
#: inference options -> model attributes they set, first one present wins
#: (JointNet estimates depth with ``depth_steps``, generates with
#: ``num_inference_steps``)
OPTION_ATTRIBUTES = {
    'ensemble_size': ('ensemble_size', ),
    'num_inference_steps': ('depth_steps', 'num_inference_steps'),
    'processing_res': ('processing_res', ),
    'seed': ('eval_seed', ),
}


@dataclass
class DenseMap:
    """One dense prediction at its input's size.

    Attributes:
        task: 'depth', 'normals', 'seg', 'parsing', 'saliency' or 'edge'.
        kind: what the values are: 'affine_invariant_depth' (relative, 0
            near .. 1 far, unknown scale and shift), 'metric_depth'
            (metres), 'unit_normals' (camera frame, x right, y up, z toward
            the viewer), 'class_ids', 'probability'.
        data: (H, W) float32 depth / probability, (H, W) int64 class ids,
            or (H, W, 3) float32 unit normals.
        source: the input it belongs to (file path or ``input[i]``).
        uncertainty: (H, W) float32 where the model gives one (Bae's
            normal concentration kappa: higher = more certain).
    """
    task: str
    kind: str
    data: np.ndarray
    source: str
    uncertainty: Optional[np.ndarray] = None
    meta: Dict[str, Any] = field(default_factory=dict)


def init_model(config: Union[str, os.PathLike, 'Config'],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None,
               trust_checkpoint: bool = False) -> torch.nn.Module:
    """Build a model from a config and load a checkpoint into it.

    Args:
        config: a config file, a loaded ``mmengine.Config`` or a folder
            written by ``tools/model_converters/export_diffusers.py``
            (config, converters and model card; no checkpoint then).
        checkpoint: a ``.pth`` written by unidense (trainable-only weights
            load onto the config's frozen parts), a ``.safetensors`` file,
            or None (the config's weights: pretrained frozen parts, random
            trainable ones).
        device: where the model runs.
        cfg_options: overrides merged into the config (``{'model.
            ensemble_size': 4}``).
        trust_checkpoint: unpickle a ``.pth`` unidense did not write (a
            pickle can run code: only for files you trust).

    Returns:
        the model in eval mode, with the config as ``model.cfg`` and the
        config's ``inference_speedups`` applied.
    """
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings

    from unidense.registry import MODELS
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    from unidense.utils.trainable_state import load_trainable_checkpoint
    from .pretrained_folder import (is_pretrained_folder,
                                    load_pretrained_folder)
    if isinstance(config, (str, os.PathLike)) and is_pretrained_folder(
            config):
        if checkpoint is not None or cfg_options:
            raise ValueError(f'{config} is a pretrained folder: it carries '
                             f'its weights and config (no checkpoint or '
                             f'cfg_options)')
        return load_pretrained_folder(os.fspath(config), device=device)
    if isinstance(config, (str, os.PathLike)):
        if not os.path.isfile(config):
            raise FileNotFoundError(f'{config}: no such config file')
        cfg = Config.fromfile(os.fspath(config))
    elif isinstance(config, Config):
        cfg = config
    else:
        raise TypeError(f'config must be a path or mmengine Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    if 'model' not in cfg:
        raise KeyError(f'{getattr(cfg, "filename", config)}: no `model` in '
                       f'the config')
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        if not os.path.isfile(checkpoint):
            raise FileNotFoundError(f'{checkpoint}: no such checkpoint')
        ckpt = load_checkpoint_safe(checkpoint, map_location='cpu',
                                    trust_checkpoint=trust_checkpoint)
        load_trainable_checkpoint(model, ckpt, checkpoint)
    model.cfg = cfg
    model = model.to(device).eval()
    if cfg.get('inference_speedups'):
        # the config's attention / channels-last / compile / autocast
        from unidense.engine.hooks import apply_inference_speedups
        apply_inference_speedups(model, **dict(cfg.inference_speedups))
    return model


@contextlib.contextmanager
def model_options(model, **options):
    """Temporarily set inference options (see :data:`OPTION_ATTRIBUTES`)
    on ``model``; None leaves an option as configured.

    Raises:
        ValueError: ``model`` has no attribute for a given option.
    """
    saved = []
    try:
        for name, value in options.items():
            if value is None:
                continue
            attr = next((a for a in OPTION_ATTRIBUTES[name]
                         if hasattr(model, a)), None)
            if attr is None:
                raise ValueError(f'{type(model).__name__} has no option '
                                 f'{name!r}')
            saved.append((attr, getattr(model, attr)))
            setattr(model, attr, value)
        yield model
    finally:
        for attr, value in reversed(saved):
            setattr(model, attr, value)


def prediction_kind(model, field_name: str) -> str:
    """What ``field_name`` of ``model``'s predictions holds (see
    :class:`DenseMap`); models declare it in ``prediction_kinds``."""
    kinds = getattr(model, 'prediction_kinds', None) or {}
    return kinds.get(field_name, 'unknown')


def _size_groups(items: Sequence[ImageInput], batch_size: int):
    """Runs of consecutive same-size inputs, at most ``batch_size`` each
    (mixed sizes in one batch would be padded into each other)."""
    start = 0
    while start < len(items):
        end = start + 1
        while (end < len(items) and end - start < batch_size
               and items[end].size == items[start].size):
            end += 1
        yield start, items[start:end]
        start = end


def _batch_data(items: Sequence[ImageInput], first_index: int) -> dict:
    from unidense.structures import DenseDataSample
    inputs, samples = [], []
    for i, item in enumerate(items):
        h, w = item.size
        # 0..255 floats: the data preprocessor's scale, 16-bit precision kept
        inputs.append(torch.from_numpy(item.rgb).permute(2, 0, 1) * 255.0)
        samples.append(DenseDataSample(metainfo=dict(
            ori_shape=(h, w), img_shape=(h, w), img_path=item.name,
            sample_idx=first_index + i)))
    return dict(inputs=inputs, data_samples=samples)


def _to_numpy(value: torch.Tensor) -> np.ndarray:
    arr = value.detach().float().cpu().numpy() if value.is_floating_point() \
        else value.detach().cpu().numpy()
    if arr.ndim == 3 and arr.shape[0] == 1:
        return arr[0]
    if arr.ndim == 3:
        return np.moveaxis(arr, 0, 2)
    return arr


def _sample_maps(model, sample, source: str) -> Dict[str, DenseMap]:
    maps = {}
    for task, name in TASK_FIELDS.items():
        value = getattr(sample, name, None)
        if value is None:
            continue
        value = getattr(value, 'data', value)
        unc = getattr(sample, UNCERTAINTY_FIELDS.get(task, ''), None)
        unc = None if unc is None else _to_numpy(getattr(unc, 'data', unc))
        maps[task] = DenseMap(task, prediction_kind(model, name),
                              _to_numpy(value), source, unc)
    return maps


@torch.no_grad()
def inference_dense(model,
                    images: Any,
                    task: Optional[str] = None,
                    ensemble_size: Optional[int] = None,
                    num_inference_steps: Optional[int] = None,
                    processing_res: Optional[int] = None,
                    seed: Optional[int] = None,
                    batch_size: int = 4,
                    progress: bool = False
                    ) -> List[Union[DenseMap, Dict[str, DenseMap]]]:
    """Dense maps of images, each at its input's size.

    Args:
        model: a dense estimator (:func:`init_model`).
        images: a path, folder, numpy array, torch tensor, PIL image, or a
            list of them (see :mod:`unidense.apis.inputs`).
        task: one of :data:`TASK_FIELDS` to get that map only; None gives
            every map the model predicts.
        ensemble_size, num_inference_steps, processing_res: override the
            model's settings for this call (diffusion estimators; an error
            for models without them).
        seed: base seed of the per-image noise (image i uses seed + i), so
            results depend neither on ``batch_size`` nor on the run.
        batch_size: images per forward (consecutive same-size images).
        progress: show a progress bar.

    Returns:
        one entry per input image: a :class:`DenseMap` when ``task`` is
        given, else ``{task: DenseMap}``.
    """
    if task is not None and task not in TASK_FIELDS:
        raise ValueError(f'task must be one of {sorted(TASK_FIELDS)}, got '
                         f'{task!r}')
    items = load_inputs(images)
    from tqdm import tqdm
    bar = tqdm(total=len(items), desc='inference', disable=not progress)
    results = []
    with model_options(model, ensemble_size=ensemble_size,
                       num_inference_steps=num_inference_steps,
                       processing_res=processing_res, seed=seed):
        for start, group in _size_groups(items, batch_size):
            samples = model.test_step(_batch_data(group, start))
            for item, sample in zip(group, samples):
                maps = _sample_maps(model, sample, item.name)
                if task is not None and task not in maps:
                    raise ValueError(f'{type(model).__name__} does not '
                                     f'predict {task!r} (it gives '
                                     f'{sorted(maps) or "nothing"})')
                results.append(maps[task] if task is not None else maps)
            bar.update(len(group))
    bar.close()
    return results


def _images_to_numpy(out: Dict[str, torch.Tensor]) -> List[Dict]:
    """``{name: (B, C, H, W)}`` in [0, 1] (depth) / unit (normals) ->
    per sample ``{rgb: (H, W, 3) uint8, depth: (H, W) float32, normal:
    (H, W, 3) float32}``."""
    batch = next(iter(out.values())).shape[0]
    samples = [{} for _ in range(batch)]
    for name, value in out.items():
        for i in range(batch):
            arr = _to_numpy(value[i])
            if name == 'rgb':
                arr = np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
            samples[i][name] = arr
    return samples


def _generator(seed: Optional[int]):
    return None if seed is None else torch.Generator().manual_seed(int(seed))


@torch.no_grad()
def generate(model,
             prompts: Union[str, Sequence[str]],
             num_inference_steps: Optional[int] = None,
             guidance_scale: Optional[float] = None,
             height: Optional[int] = None,
             width: Optional[int] = None,
             seed: Optional[int] = 0,
             batch_size: int = 4,
             progress: bool = False) -> List[Dict[str, np.ndarray]]:
    """Text-to-image (MERGE's frozen DiT) or joint RGB-D (JointNet).

    Args:
        prompts: one prompt or a list.
        num_inference_steps, guidance_scale, height, width: the model's
            defaults when None.
        seed: seeds the noise of the whole call (None: global state).

    Returns:
        one dict per prompt: ``rgb`` (H, W, 3) uint8 and, for JointNet,
        ``depth`` (H, W) float32 relative in [0, 1] (0 near) and/or
        ``normal`` (H, W, 3) unit vectors.
    """
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts or not all(isinstance(p, str) for p in prompts):
        raise ValueError('prompts must be a non-empty string or list of '
                         'strings')
    kwargs = {k: v for k, v in dict(
        num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale, height=height,
        width=width).items() if v is not None}
    gen = _generator(seed)
    from tqdm import tqdm
    results = []
    for _, chunk in tqdm(list(batched(prompts, batch_size)),
                         desc='generate', disable=not progress):
        results.extend(_images_to_numpy(
            _generate_batch(model, chunk, generator=gen, **kwargs)))
    return results


def _generate_batch(model, prompts, **kwargs) -> Dict[str, torch.Tensor]:
    """One batch through the model's own sampler -> ``{name: maps}``."""
    if hasattr(model, 'set_mode') and hasattr(model, 'mode'):
        previous = model.mode          # MERGE: the frozen DiT's T2I mode
        model.set_mode('t2i')
        try:
            return dict(rgb=model.generate(prompts, **kwargs))
        finally:
            model.set_mode(previous)
    if hasattr(model, 'generate'):
        out = model.generate(prompts, **kwargs)
        return out if isinstance(out, dict) else dict(rgb=out)
    raise TypeError(f'{type(model).__name__} cannot generate images (MERGE '
                    f'and JointNet can)')


@torch.no_grad()
def panorama(model,
             prompt: str,
             height: Optional[int] = None,
             width: Optional[int] = None,
             num_inference_steps: Optional[int] = None,
             guidance_scale: Optional[float] = None,
             tiling: Optional[dict] = None,
             seed: Optional[int] = 0) -> Dict[str, np.ndarray]:
    """A wrap-around RGB-D panorama by tiled joint denoising (JointNet).

    Unset arguments come from the config's ``sampling`` dict when it has
    one (``configs/jointnet/sd21_rgbd_panorama*.py``), else a canvas of
    1 x 4 training sizes with tiles of the training size, stride half.

    Returns:
        ``rgb`` (H, W, 3) uint8 and ``depth`` (H, W) relative in [0, 1].
    """
    if not (hasattr(model, 'sample') and hasattr(model, 'fusion')):
        raise TypeError(f'{type(model).__name__} cannot draw panoramas '
                        f'(JointNet can)')
    if not isinstance(prompt, str):
        raise ValueError(f'prompt must be a string, got {type(prompt)}')
    cfg = getattr(model, 'cfg', None)
    defaults = dict(cfg.get('sampling', {}) or {}) if cfg is not None else {}
    defaults.pop('prompts', None)
    tile = int(model.backbone.unet.config.sample_size)   # latent cells
    f = int(model.size_multiple)
    fallback = dict(height=tile * f, width=4 * tile * f,
                    tiling=dict(tile_size=tile, stride=tile // 2))
    given = dict(height=height, width=width,
                 num_inference_steps=num_inference_steps,
                 guidance_scale=guidance_scale, tiling=tiling)
    kwargs = {**fallback, **defaults,
              **{k: v for k, v in given.items() if v is not None}}
    kwargs['tiling'] = dict(kwargs['tiling'], wrap=True)
    out = model.sample([prompt], generator=_generator(seed), **kwargs)
    return _images_to_numpy(out)[0]
