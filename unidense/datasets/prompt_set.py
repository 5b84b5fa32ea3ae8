"""PromptSetDataset: the prompts a generation evaluation generates from."""
import json
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from unidense.registry import DATASETS


@DATASETS.register_module()
class PromptSetDataset(BaseDataset):
    """Prompts for generation evaluation, one sample each.

    Sources (one of):

    * ``ann_file``: MS-COCO captions JSON (``captions_val2014.json``
      layout: ``{"annotations": [{"image_id", "caption"}, ...]}``), a JSON
      list of strings, or a text file with one prompt per line;
    * ``source``: a DATASETS config whose samples carry captions (e.g.
      held-out ``SyntheticScenes``).

    ``num_prompts`` are drawn without replacement with ``seed`` (JointNet
    Table 1: 30K MS-COCO prompts), in a fixed order. Each sample is
    ``dict(inputs=uint8 (3, 8, 8) zeros, data_samples=DenseDataSample)``
    with the prompt as ``caption`` and metainfo ``prompt`` / ``prompt_idx``
    / ``sample_idx``: the runner's test loop then shards the prompts across
    processes like any dataset.
    """

    METAINFO = dict(dataset_name='prompt_set')

    def __init__(self, ann_file: str = '', source: Optional[dict] = None,
                 num_prompts: Optional[int] = None, seed: int = 0,
                 **kwargs):
        if bool(ann_file) == (source is not None):
            raise ValueError('PromptSetDataset: give ann_file or source')
        self.source = source
        self.num_prompts = num_prompts
        self.seed = int(seed)
        kwargs.setdefault('serialize_data', False)
        super().__init__(ann_file=ann_file, lazy_init=False, **kwargs)

    def _all_prompts(self) -> List[str]:
        if self.source is not None:
            dataset = DATASETS.build(dict(self.source, pipeline=[]))
            prompts = [dataset.get_data_info(i).get('caption')
                       for i in range(len(dataset))]
            if any(p is None for p in prompts):
                raise KeyError(f'PromptSetDataset: {self.source.get("type")} '
                               f'samples have no caption')
            return prompts
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(f'PromptSetDataset: {path!r} not found')
        if path.endswith('.json'):
            with open(path) as f:
                data = json.load(f)
            if isinstance(data, dict) and 'annotations' in data:
                return [str(a['caption']).strip()
                        for a in data['annotations']]
            if isinstance(data, list):
                return [str(p) for p in data]
            raise ValueError(f'{path}: expected COCO captions '
                             f'({{"annotations": [...]}}) or a list')
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]

    def load_data_list(self) -> List[dict]:
        prompts = self._all_prompts()
        order = np.arange(len(prompts))
        if self.num_prompts is not None:
            if self.num_prompts > len(prompts):
                raise ValueError(f'PromptSetDataset: {self.num_prompts} '
                                 f'prompts asked, {len(prompts)} available')
            order = np.random.default_rng(self.seed).choice(
                len(prompts), self.num_prompts, replace=False)
        return [dict(prompt=prompts[int(i)], prompt_idx=int(i))
                for i in order]

    def prepare_data(self, idx: int) -> dict:
        from unidense.structures import DenseDataSample
        info = self.get_data_info(idx)
        sample = DenseDataSample(metainfo=dict(
            prompt=info['prompt'], prompt_idx=info['prompt_idx'],
            sample_idx=idx, img_shape=(8, 8), ori_shape=(8, 8)))
        sample.caption = info['prompt']
        return dict(inputs=torch.zeros(3, 8, 8, dtype=torch.uint8),
                    data_samples=sample)
