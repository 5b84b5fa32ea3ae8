"""CheckpointHook whose files can never be seen half-written.

mmengine's ``CheckpointHook`` deletes the oldest checkpoint *before* saving
the new one and writes ``work_dir/last_checkpoint`` in place; a run killed at
the wrong moment then resumes from a missing or truncated file. Here the new
checkpoint is written first (atomically, by ``UnidenseRunner``), then
``last_checkpoint`` is replaced atomically, and only then are old checkpoints
(and their ``.unidense`` markers) removed.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from unidense.registry import HOOKS
from unidense.utils.checkpoint_io import remove_checkpoint, write_text_atomic


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Drop-in replacement of mmengine's ``CheckpointHook`` (same arguments).

    ``UnidenseRunner`` uses it in place of a plain ``CheckpointHook``.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = []
        if self.max_keep_ckpts > 0 and not (
                len(self.keep_ckpt_ids) > 0
                and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        if not is_main_process():
            return
        write_text_atomic(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in outdated:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isdir(path):
                self.file_backend.rmtree(path)
            else:
                remove_checkpoint(path)
