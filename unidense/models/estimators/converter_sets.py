"""Named converter sets on one frozen backbone (MERGE's plug-ins)."""
from typing import Dict, List, Optional

import torch


class ConverterSetsMixin:
    """Any number of named sets of a fusion's trained tensors for one frozen
    backbone; :meth:`set_mode` copies a set into the fusion in place.

    The class sets ``MODES`` (mode names such as 'depth', 't2i'; 't2i'
    leaves the converters alone) and ``TASKS`` (what a set estimates), and
    has ``self.fusion``, ``self.task`` and ``self.mode``. Sets are plain
    tensors, not parameters: they do not train and stay out of checkpoints.
    """

    MODES = ('depth', 't2i')
    TASKS = ('depth', 'normal')

    def _require(self, mode, what):
        if self.mode != mode:
            raise RuntimeError(f'{type(self).__name__}.{what} needs mode='
                               f'{mode!r}, the model is in mode={self.mode!r}'
                               f"; call set_mode('{mode}') first")

    def init_converter_sets(self) -> None:
        self._converter_sets: Dict[str, Dict[str, torch.Tensor]] = {}
        self._set_tasks = {'default': self.task}
        self.active_set = 'default'

    # ------------------------------------------------------------------ mode
    def set_mode(self, mode: str) -> 'MERGE':
        """'t2i' (the frozen text-to-image model), 'depth' (the converters
        of the active set) or the name of a converter set (see
        :meth:`load_converter_set`; the model's own is 'default'): its
        converters are copied into the fusion in place, depth mode."""
        sets = self.__dict__.get('_converter_sets', {})
        if mode not in self.MODES and mode not in sets:
            raise ValueError(f'MERGE.set_mode: mode={mode!r}, expected one '
                             f'of {self.MODES} or a loaded converter set '
                             f'{sorted(sets)}')
        if mode in sets and mode != self.__dict__.get('active_set'):
            self._store_active_set()
            with torch.no_grad():
                for key, value in self.fusion.state_dict(
                        keep_vars=True).items():
                    if key in sets[mode]:
                        value.copy_(sets[mode][key])
            self.active_set = mode
            self.task = self._set_tasks.get(mode, self.task)
        self.mode = 't2i' if mode == 't2i' else 'depth'
        return self

    # ------------------------------------------------------- converter sets
    def converter_keys(self) -> List[str]:
        """The fusion's state-dict keys that a converter set holds (its
        trainable tensors and trained buffers)."""
        from unidense.utils.trainable_state import trainable_state_keys
        return sorted(trainable_state_keys(self.fusion))

    def _store_active_set(self):
        """Keep the converters now in the fusion under their set's name."""
        name = self.__dict__.get('active_set')
        if name is None:    # the fusion's tensors are being replaced
            return
        state = self.fusion.state_dict()
        self._converter_sets[name] = {k: state[k].detach().clone()
                                      for k in self.converter_keys()}

    def load_converter_set(self, name: str, source,
                           task: Optional[str] = None) -> 'MERGE':
        """Add a named set of converters for the same frozen backbone.

        Args:
            name: e.g. 'indoor'; 'default' names the model's own set
                (loading it replaces the converters in the fusion); 't2i'
                and 'depth' are modes.
            task: 'depth' or 'normal' (default: the model's ``task``);
                :meth:`set_mode` switches to it with the set.
            source: a unidense checkpoint of a MERGE with this backbone
                and fusion (``.pth`` written by unidense or
                ``.safetensors``; keys ``fusion.*``), or a state dict of
                the fusion's keys (with or without ``fusion.``).

        The backbone's parameters stay the same objects; memory grows by
        the converters only. Keys and shapes are checked and named.
        """
        from unidense.utils.checkpoint_io import (extract_state_dict,
                                                  load_checkpoint_safe)
        if name in self.MODES:
            raise ValueError(f'MERGE.load_converter_set: {name!r} is a '
                             f"mode ('t2i' / 'depth'); pick another name")
        where = source if isinstance(source, str) else 'the given state dict'
        if isinstance(source, str):
            source = load_checkpoint_safe(source)
        state = {k[len('fusion.'):] if k.startswith('fusion.') else k: v
                 for k, v in extract_state_dict(source).items()}
        keys = self.converter_keys()
        own = self.fusion.state_dict()
        missing = [k for k in keys if k not in state]
        if missing:
            raise KeyError(f'MERGE.load_converter_set({name!r}): {where} '
                           f'lacks converter keys {missing[:5]}'
                           f'{" ..." if len(missing) > 5 else ""}')
        bad = [f'{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}'
               for k in keys if tuple(state[k].shape) != tuple(own[k].shape)]
        if bad:
            raise ValueError(f'MERGE.load_converter_set({name!r}): shapes '
                             f'of {where} do not fit the fusion: {bad[:5]}')
        task = task or self._set_tasks.get(name, self.task)
        if task not in self.TASKS:
            raise ValueError(f'MERGE.load_converter_set({name!r}): task='
                             f'{task!r}, expected one of {self.TASKS}')
        self._set_tasks[name] = task
        self._converter_sets[name] = {
            k: state[k].detach().to(own[k].device, own[k].dtype).clone()
            for k in keys}
        if name == self.active_set:   # reloading the set in use
            self.active_set = None
            self.set_mode(name)
        return self

    @property
    def converter_sets(self) -> List[str]:
        """Names of the converter sets :meth:`set_mode` accepts."""
        return sorted(set(self._converter_sets) | {self.active_set or
                                                   'default'})

