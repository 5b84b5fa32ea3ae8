"""GenerationEvaluator: generates an image per prompt for tools/test.py."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.model import BaseModel

from unidense.registry import MODELS
from ..data_preprocessors import built_preprocessor


@MODELS.register_module()
class GenerationEvaluator(BaseModel):
    """Text-to-image generation as a test-time model.

    For every prompt sample (:class:`PromptSetDataset`) it generates one
    image - with a generator seeded by ``seed + prompt_idx``, so the image
    of a prompt does not depend on the batch or the number of processes -
    and puts it in ``pred_img`` (3, H, W) float in [0, 1] for the
    generation metrics. Images are cached as ``cache_dir/{prompt_idx}.png``
    (written atomically): a rerun, or a run that died, reuses them
    (resumable; the test loop's progress and process sharding apply).
    ``cache_dir/generator.json`` records a fingerprint of the generating
    weights, steps, guidance and seed; a run whose fingerprint differs (an
    other checkpoint, say) stops with an error instead of scoring the
    stale images.

    Args:
        model (dict, optional): an estimator that generates (MERGE in its
            text-to-image mode - the frozen DiT - or JointNet: its RGB).
        generator (dict, optional): or a plain frozen text-to-image network:
            ``dict(denoiser=, vae=, text_encoder=, scheduler=)`` configs
            (the tiny family's UNet, for instance).
        generate_kwargs (dict): ``num_inference_steps``, ``guidance_scale``,
            ``height``, ``width`` ...
        cache_dir (str, optional): where generated images are kept.
        seed (int): base seed.
    """

    def __init__(self, model: Optional[dict] = None,
                 generator: Optional[dict] = None,
                 generate_kwargs: Optional[dict] = None,
                 cache_dir: Optional[str] = None, seed: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if (model is None) == (generator is None):
            raise ValueError('GenerationEvaluator: give model or generator')
        super().__init__(
            data_preprocessor=built_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.model = MODELS.build(model) if isinstance(model, dict) \
            else model
        self.parts = None
        if generator is not None:
            from torch import nn
            self.parts = nn.ModuleDict({
                k: MODELS.build(generator[k]) if isinstance(
                    generator[k], dict) else generator[k]
                for k in ('denoiser', 'vae', 'text_encoder')})
            self.scheduler = generator['scheduler']
        self.generate_kwargs = dict(generate_kwargs or {})
        self.cache_dir = cache_dir
        self.seed = int(seed)

    def checkpoint_module(self):
        """Where ``tools/test.py CKPT`` loads: the wrapped estimator's own
        checkpoint goes into it (its keys have no ``model.`` prefix)."""
        if self.model is None:
            raise RuntimeError('GenerationEvaluator: a plain generator '
                               'takes no checkpoint (its weights come from '
                               'the config)')
        return self.model

    def _generate(self, prompt: str, seed: int) -> torch.Tensor:
        """(3, H, W) float in [0, 1]."""
        gen = torch.Generator().manual_seed(seed)
        if self.parts is not None:
            from unidense.pipelines import generate_images
            return generate_images(
                self.parts['denoiser'], self.parts['vae'],
                self.parts['text_encoder'], self.scheduler, [prompt],
                generator=gen, **self.generate_kwargs)[0].float()
        model = self.model
        if hasattr(model, 'set_mode'):   # MERGE: the frozen DiT
            previous = model.mode
            model.set_mode('t2i')
            try:
                return model.generate([prompt], generator=gen,
                                      **self.generate_kwargs)[0].float()
            finally:
                model.set_mode(previous)
        out = model.generate([prompt], generator=gen, **self.generate_kwargs)
        rgb = out['rgb'] if isinstance(out, dict) else out
        return rgb[0].float()

    def fingerprint(self) -> str:
        """sha256 of the generating weights (name, shape, sum and sum of
        squares to 6 digits, so devices that round differently agree) and
        of ``generate_kwargs`` and ``seed``."""
        import hashlib
        import json
        digest = hashlib.sha256(json.dumps(
            dict(kwargs=self.generate_kwargs, seed=self.seed),
            sort_keys=True, default=str).encode())
        module = self.model if self.model is not None else self.parts
        with torch.no_grad():
            for name, value in module.state_dict().items():
                stats = ''
                if value.is_floating_point():
                    v = value.detach().double()
                    stats = f'{v.sum().item():.6e} {(v * v).sum().item():.6e}'
                digest.update(f'{name} {tuple(value.shape)} {stats}'.encode())
        return digest.hexdigest()

    def _check_cache(self):
        """Once per run: the cache belongs to this generator (or is new).
        """
        import json

        from unidense.utils.checkpoint_io import write_text_atomic
        self._cache_checked = True
        key = osp.join(self.cache_dir, 'generator.json')
        mine = self.fingerprint()
        if osp.isfile(key):
            theirs = json.load(open(key)).get('fingerprint')
            if theirs != mine:
                raise ValueError(
                    f'{self.cache_dir}: cached images come from another '
                    f'generator (weights, steps, guidance or seed differ); '
                    f'delete the folder or set model.cache_dir to a new one')
            return
        if any(f.endswith('.png') for f in os.listdir(self.cache_dir)):
            raise ValueError(
                f'{self.cache_dir}: holds images but no generator.json, so '
                f'nothing says which generator made them; delete the folder '
                f'or set model.cache_dir to a new one')
        write_text_atomic(key, json.dumps(dict(fingerprint=mine)))

    def _cached(self, idx: int, prompt: str) -> torch.Tensor:
        import cv2
        path = osp.join(self.cache_dir, f'{idx:06d}.png') \
            if self.cache_dir else None
        if path and not getattr(self, '_cache_checked', False):
            os.makedirs(self.cache_dir, exist_ok=True)
            self._check_cache()
        if path and osp.isfile(path):
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f'{path}: cached image unreadable (delete '
                                 f'it to regenerate)')
            return torch.from_numpy(bgr[..., ::-1].copy()).permute(
                2, 0, 1).float() / 255
        img = self._generate(prompt, self.seed + idx)
        if path:
            os.makedirs(self.cache_dir, exist_ok=True)
            rgb = (img.clamp(0, 1) * 255).round().byte().permute(
                1, 2, 0).numpy()
            root, ext = osp.splitext(path)
            tmp = f'{root}.tmp{os.getpid()}{ext}'
            if not cv2.imwrite(tmp, np.ascontiguousarray(rgb[..., ::-1])):
                raise OSError(f'cannot write {tmp}')
            os.replace(tmp, path)
            # the metrics see what the cache holds (8-bit)
            img = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255
        return img

    @torch.no_grad()
    def predict(self, inputs, data_samples: Sequence) -> List:
        for sample in data_samples:
            meta = sample.metainfo
            prompt = meta.get('prompt') or sample.caption
            idx = int(meta.get('prompt_idx', meta.get('sample_idx', 0)))
            sample.set_field(self._cached(idx, prompt), 'pred_img')
        return list(data_samples)

    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise RuntimeError('GenerationEvaluator only predicts (tools/'
                               'test.py)')
        return self.predict(inputs, data_samples)
