"""Base class of unidense transforms (mmcv's ``BaseTransform``, no mmcv)."""
from typing import Optional


class BaseTransform:
    """A callable that maps a results dict to a results dict.

    ``transform`` may return ``None`` to drop a sample: mmengine's
    ``Compose`` then returns ``None`` and ``BaseDataset`` draws another index
    in training (in test mode it raises, naming the index).
    """

    def __call__(self, results: dict) -> Optional[dict]:
        return self.transform(results)

    def transform(self, results: dict) -> Optional[dict]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items()
                         if not k.startswith('_'))
        return f'{type(self).__name__}({args})'
