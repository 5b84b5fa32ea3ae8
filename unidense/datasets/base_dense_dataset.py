"""BaseDenseDataset: split-file parsing shared by every unidense dataset."""
import copy
import glob
import os.path as osp
import warnings
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from unidense.registry import DATASETS, TRANSFORMS

# Tokens in a split file that mean "this column has no file" (KITTI's Eigen
# list writes None for the 45 test frames without ground truth).
_MISSING = ('none', '-', 'null', '')


@DATASETS.register_module()
class BaseDenseDataset(BaseDataset):
    """A dataset of images with dense maps, read from a split file.

    A split file (``ann_file``) has one sample per line, whitespace
    separated; blank lines and lines starting with ``#`` are skipped. Two
    styles:

    - **paths** (Marigold, BTS): tokens map in order to ``columns``, e.g.
      ``('img_path', 'depth_path', 'focal')``. Each ``*_path`` is joined
      with ``data_prefix[column]`` if given, else with ``data_root``.
      ``None``/``-`` marks a missing file; a sample whose ``depth_path`` is
      missing is dropped when ``skip_missing_depth``.
    - **ids** (ATRC multi-task packaging): the first token is an id and
      ``templates`` = ``{column: 'images/{}.png', ...}`` gives each path
      relative to ``data_root``.

    Without ``ann_file`` the dataset calls :meth:`scan_folder` (subclasses
    that have a canonical folder layout implement it).

    Each data info holds the paths plus the meta ``dataset_name``,
    ``depth_scale`` (file units per metre), ``depth_range`` (valid metres),
    ``protocol`` (evaluation preset name for the metrics), ``intrinsics``
    and ``reduce_zero_label``; loaders read them from the results dict.

    Args:
        columns: column names for path-style split files.
        templates: path templates for id-style split files.
        depth_scale, depth_range, protocol, intrinsics, reduce_zero_label:
            override the class defaults.
        skip_missing_depth: drop samples whose depth file is listed missing
            (default: the class's ``SKIP_MISSING_DEPTH``).
        check_files: verify every listed file exists at init (clear error
            naming line and file instead of a failure mid-epoch).
        pipeline: transform configs (built with the unidense TRANSFORMS
            registry, so no default scope is needed) or callables.
    """

    METAINFO = dict(dataset_name='dense')
    DEFAULT_COLUMNS = ('img_path', 'depth_path')
    TEMPLATES: Optional[dict] = None
    DEPTH_SCALE: Optional[float] = None
    DEPTH_RANGE: Optional[Sequence[float]] = None
    PROTOCOL: Optional[str] = None
    INTRINSICS: Optional[list] = None
    # Split files whose depth column may be 'None' (KITTI's Eigen list) drop
    # those samples; datasets that derive missing depth paths keep them.
    SKIP_MISSING_DEPTH: bool = True
    REDUCE_ZERO_LABEL = False

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 columns: Optional[Sequence[str]] = None,
                 templates: Optional[dict] = None,
                 depth_scale: Optional[float] = None,
                 depth_range: Optional[Sequence[float]] = None,
                 protocol: Optional[str] = None,
                 intrinsics: Optional[list] = None,
                 reduce_zero_label: Optional[bool] = None,
                 skip_missing_depth: Optional[bool] = None,
                 check_files: bool = False,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs):
        self.columns = tuple(columns or self.DEFAULT_COLUMNS)
        self.templates = templates if templates is not None else \
            copy.deepcopy(self.TEMPLATES)
        self.depth_scale = depth_scale if depth_scale is not None \
            else self.DEPTH_SCALE
        rng = depth_range if depth_range is not None else self.DEPTH_RANGE
        self.depth_range = tuple(float(r) for r in rng) if rng else None
        self.protocol = protocol if protocol is not None else self.PROTOCOL
        self.intrinsics = intrinsics if intrinsics is not None \
            else self.INTRINSICS
        self.reduce_zero_label = self.REDUCE_ZERO_LABEL \
            if reduce_zero_label is None else reduce_zero_label
        self.skip_missing_depth = (skip_missing_depth
                                   if skip_missing_depth is not None else
                                   self.SKIP_MISSING_DEPTH)
        self.check_files = check_files
        built = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                 for t in pipeline]
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(data_prefix or {}),
                         pipeline=built, **kwargs)

    # -- parsing ---------------------------------------------------------
    def _join(self, column: str, rel: str) -> str:
        if osp.isabs(rel):
            return rel
        base = self.data_prefix.get(column) or self.data_root or ''
        return osp.join(base, rel)

    def common_meta(self) -> dict:
        return dict(dataset_name=self.metainfo.get('dataset_name', ''),
                    depth_scale=self.depth_scale,
                    depth_range=self.depth_range, protocol=self.protocol,
                    intrinsics=copy.deepcopy(self.intrinsics),
                    reduce_zero_label=self.reduce_zero_label)

    def parse_line(self, tokens: List[str], lineno: int) -> Optional[dict]:
        """Turn one split-file line into a data info (``None`` = skip)."""
        info = {}
        if self.templates:
            sample_id = tokens[0]
            info['sample_id'] = sample_id
            for column, template in self.templates.items():
                info[column] = osp.join(self.data_root or '',
                                        template.format(sample_id))
            return info
        if len(tokens) < len(self.columns):
            # Trailing optional columns (e.g. focal) may be absent.
            tokens = tokens + ['None'] * (len(self.columns) - len(tokens))
        for column, token in zip(self.columns, tokens):
            if token.lower() in _MISSING:
                info[column] = None
            elif column.endswith('_path'):
                info[column] = self._join(column, token)
            else:
                try:
                    info[column] = float(token)
                except ValueError:
                    info[column] = token
        if info.get('img_path') is None:
            raise ValueError(f'{self.ann_file}:{lineno}: no image path')
        if self.skip_missing_depth and 'depth_path' in self.columns and \
                info.get('depth_path') is None:
            return None
        return info

    def scan_folder(self) -> List[dict]:
        raise ValueError(f'{type(self).__name__}: ann_file (a split file) '
                         f'is required; data_root={self.data_root!r}')

    def complete_info(self, info: dict) -> Optional[dict]:
        """Fill derived paths (subclass hook); ``None`` drops the sample."""
        return info

    def load_data_list(self) -> List[dict]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'{type(self).__name__}: split file not found: '
                    f'{self.ann_file!r} (data_root={self.data_root!r}); see '
                    f'docs/dataset_prepare.md')
            infos = []
            with open(self.ann_file) as f:
                for lineno, line in enumerate(f, 1):
                    line = line.strip()
                    if not line or line.startswith('#'):
                        continue
                    info = self.parse_line(line.split(), lineno)
                    if info is not None:
                        infos.append(info)
        else:
            infos = self.scan_folder()
        data_list = []
        meta = self.common_meta()
        for info in infos:
            info = self.complete_info(info)
            if info is None:
                continue
            if self.check_files:
                for key, value in info.items():
                    if key.endswith('_path') and value is not None and \
                            not osp.isfile(value):
                        raise FileNotFoundError(
                            f'{type(self).__name__}: {key} {value!r} listed '
                            f'in {self.ann_file or self.data_root!r} does '
                            f'not exist')
            for key, value in meta.items():
                info.setdefault(key, value)
            data_list.append(info)
        return data_list

    def full_init(self):
        if self._fully_initialized:
            return
        super().full_init()
        if len(self) == 0:
            warnings.warn(f'{type(self).__name__}: no samples (split file '
                          f'{self.ann_file!r}, data_root {self.data_root!r}'
                          f'); check paths and filters', stacklevel=2)

    def _serialize_data(self):
        # mmengine cannot serialise an empty list (np.concatenate of
        # nothing); an empty, filtered dataset is legal and gets a warning.
        if not self.data_list:
            return np.zeros(0, np.uint8), np.zeros(0, np.int64)
        return super()._serialize_data()

    def _scan(self, img_dir: str, suffixes: Sequence[str]) -> List[str]:
        """Sorted files under ``img_dir`` (recursive) with the suffixes."""
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{type(self).__name__}: image folder '
                                    f'{img_dir!r} not found')
        files = []
        for suffix in suffixes:
            files += glob.glob(osp.join(img_dir, '**', '*' + suffix),
                               recursive=True)
        return sorted(set(files))
