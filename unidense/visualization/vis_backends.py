"""A TensorBoard backend that is there when TensorBoard is installed.

``configs/_base_/default_runtime.py`` lists it next to the local backend, so
validation panels and scalars reach TensorBoard for users who have it
(``pip install tensorboard``) and nobody else needs it.
"""
import importlib.util
import logging

from mmengine.visualization.vis_backend import (BaseVisBackend,
                                                TensorboardVisBackend)

from mmengine.logging import print_log

from unidense.registry import VISBACKENDS


def tensorboard_available() -> bool:
    return importlib.util.find_spec('tensorboard') is not None


@VISBACKENDS.register_module()
class OptionalTensorboardVisBackend(BaseVisBackend):
    """mmengine's ``TensorboardVisBackend`` when ``tensorboard`` imports;
    otherwise every call does nothing (one log line on the first call).

    Args:
        save_dir: the run's ``vis_data`` folder (set by the visualizer).
    """

    def __init__(self, save_dir: str):
        super().__init__(save_dir)
        self._inner = None
        self._warned = False

    def _init_env(self):
        pass

    def _backend(self):
        if self._inner is None and tensorboard_available():
            self._inner = TensorboardVisBackend(self._save_dir)
        if self._inner is None and not self._warned:
            print_log('tensorboard is not installed: panels and scalars go '
                      'to the local backend only (pip install tensorboard '
                      'to get them in TensorBoard too)', logger='current',
                      level=logging.INFO)
            self._warned = True
        return self._inner

    @property
    def experiment(self):
        backend = self._backend()
        return None if backend is None else backend.experiment

    def add_config(self, config, **kwargs) -> None:
        backend = self._backend()
        if backend is not None:
            backend.add_config(config, **kwargs)

    def add_image(self, name, image, step: int = 0, **kwargs) -> None:
        backend = self._backend()
        if backend is not None:
            backend.add_image(name, image, step, **kwargs)

    def add_scalar(self, name, value, step: int = 0, **kwargs) -> None:
        backend = self._backend()
        if backend is not None:
            backend.add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict, step: int = 0, file_path=None,
                    **kwargs) -> None:
        backend = self._backend()
        if backend is not None:
            backend.add_scalars(scalar_dict, step, file_path, **kwargs)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
