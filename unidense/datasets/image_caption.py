"""ImageCaptionDataset: image + caption pairs with metadata filters."""
import json
import os.path as osp
from typing import List, Optional

from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset

_IMG_EXT = ('.jpg', '.jpeg', '.png', '.webp', '.bmp')


@DATASETS.register_module()
class ImageCaptionDataset(BaseDenseDataset):
    """Text-image pairs for generative training (JointNet filtered COYO).

    Two layouts:

    - **JSONL** (``ann_file`` ends with ``.jsonl``): one object per line
      with the image path (key ``image``, ``file_name`` or ``img_path``,
      relative to ``data_prefix.img_path`` / ``data_root``) and caption
      (``caption`` or ``text``); optional metadata ``width``, ``height``,
      ``pwatermark`` (or ``watermark``), ``aesthetic_score`` (or
      ``aesthetic``).
    - **folder**: every image under ``data_root`` with a same-stem ``.txt``
      caption and optionally a same-stem ``.json`` of metadata (image size
      read from the file header when ``min_side`` needs it).

    Filters (a sample lacking the metadata a filter needs is kept, since
    an absent score is not a bad score; ``strict_filters=True`` drops it):
    ``min_side`` (shorter side >= 512 in JointNet), ``max_watermark``
    (< 0.5), ``min_aesthetic`` (> 5). Samples without a caption are
    dropped. ``caption`` is in each data info; there is no depth.

    ``unlabelled=True`` marks every sample (metainfo ``unlabelled``) as an
    image without ground truth whose labels a model makes during training
    (Diff-2-in-1's synthetic images, ``tools/create_synthetic.py``).
    """

    METAINFO = dict(dataset_name='image_caption')
    PROTOCOL = None

    def __init__(self, min_side: Optional[int] = None,
                 max_watermark: Optional[float] = None,
                 min_aesthetic: Optional[float] = None,
                 strict_filters: bool = False, unlabelled: bool = False,
                 **kwargs):
        self.unlabelled = bool(unlabelled)
        self.min_side = min_side
        self.max_watermark = max_watermark
        self.min_aesthetic = min_aesthetic
        self.strict_filters = strict_filters
        super().__init__(**kwargs)

    @staticmethod
    def _first(record: dict, keys):
        for key in keys:
            if record.get(key) is not None:
                return record[key]
        return None

    def _keep(self, meta: dict) -> bool:
        w, h = meta.get('width'), meta.get('height')
        wm = self._first(meta, ('pwatermark', 'watermark'))
        aes = self._first(meta, ('aesthetic_score', 'aesthetic'))
        checks = []
        if self.min_side is not None:
            checks.append(None if w is None or h is None
                          else min(w, h) >= self.min_side)
        if self.max_watermark is not None:
            checks.append(None if wm is None else wm < self.max_watermark)
        if self.min_aesthetic is not None:
            checks.append(None if aes is None else aes > self.min_aesthetic)
        for ok in checks:
            if ok is False or (ok is None and self.strict_filters):
                return False
        return True

    def _record_to_info(self, record: dict, where: str) -> Optional[dict]:
        img = self._first(record, ('image', 'file_name', 'img_path'))
        caption = self._first(record, ('caption', 'text'))
        if img is None:
            raise ValueError(f'{where}: record has no image/file_name key: '
                             f'{sorted(record)}')
        if not caption or not self._keep(record):
            return None
        meta = {k: record[k] for k in ('width', 'height', 'pwatermark',
                                      'watermark', 'aesthetic_score',
                                      'aesthetic') if k in record}
        return dict(img_path=self._join('img_path', img),
                    caption=str(caption), caption_meta=meta)

    def load_data_list(self) -> List[dict]:
        if self.ann_file and self.ann_file.endswith('.jsonl'):
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'ImageCaptionDataset: '
                                        f'{self.ann_file!r} not found')
            infos = []
            with open(self.ann_file) as f:
                for lineno, line in enumerate(f, 1):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f'{self.ann_file}:{lineno}: bad '
                                         f'JSON: {exc}') from exc
                    info = self._record_to_info(
                        record, f'{self.ann_file}:{lineno}')
                    if info is not None:
                        infos.append(info)
        else:
            root = self.data_prefix.get('img_path') or self.data_root
            infos = []
            for img in self._scan(root, _IMG_EXT):
                stem = osp.splitext(img)[0]
                record = dict(img_path=img)
                if osp.isfile(stem + '.json'):
                    with open(stem + '.json') as f:
                        record.update(json.load(f))
                if self.min_side is not None and (
                        'width' not in record or 'height' not in record):
                    # Header read only: cheap even for large images.
                    from PIL import Image
                    with Image.open(img) as im:
                        record['width'], record['height'] = im.size
                if osp.isfile(stem + '.txt'):
                    with open(stem + '.txt') as f:
                        record['caption'] = f.read().strip()
                info = self._record_to_info(record, img)
                if info is not None:
                    # scanned paths already start with the root
                    info['img_path'] = img
                    infos.append(info)
        meta = self.common_meta()
        if self.unlabelled:
            meta['unlabelled'] = True
        for info in infos:
            for key, value in meta.items():
                info.setdefault(key, value)
        return infos
