"""The schedule of Diff-2-in-1's two-stage self-improving training."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from unidense.registry import HOOKS


@HOOKS.register_module()
class SelfImprovingHook(Hook):
    """Stage 1 (warm-up) for ``warmup_iters`` iterations, then stage 2.

    On a :class:`~unidense.models.estimators.SelfImprovingEstimator`:

    * before iteration ``warmup_iters`` (0-based) the creation copy θ_C is
      initialised from θ_E (the warm-up weights);
    * after every K-th stage-2 iteration, θ_C <- α θ_C + (1 - α) θ_E
      (Eq. 8), with K = ``ema_interval`` or, by default,
      ``round(ema_interval_samples / total batch size)`` (the paper's
      "every 40 samples"; the released code's 10 iterations at batch 8 was
      meant as 40 samples at batch 4).

    Everything is a function of the iteration and the model state (θ_C and
    its ready flag are in the checkpoint), so a resumed run continues
    exactly. Use :class:`SelfImprovingBatchSampler` with the same
    ``warmup_iters`` so that warm-up batches are labelled only.

    Args:
        warmup_iters (int): stage-1 iterations (0: stage 2 from the start,
            e.g. from ``SelfImprovingEstimator(stage1_checkpoint=...)``).
        ema_alpha (float): α (0.998; 0.999 for PASCAL-Context
            multi-task).
        ema_interval (int, optional): K in iterations.
        ema_interval_samples (int): K in samples when ``ema_interval`` is
            None.
    """

    priority = 'NORMAL'

    def __init__(self, warmup_iters: int, ema_alpha: float = 0.998,
                 ema_interval: Optional[int] = None,
                 ema_interval_samples: int = 40):
        if warmup_iters < 0:
            raise ValueError(f'SelfImprovingHook: warmup_iters '
                             f'{warmup_iters} < 0')
        if not 0.0 <= ema_alpha <= 1.0:
            raise ValueError(f'SelfImprovingHook: ema_alpha {ema_alpha} '
                             f'not in [0, 1]')
        self.warmup_iters = int(warmup_iters)
        self.ema_alpha = float(ema_alpha)
        self.ema_interval = ema_interval
        self.ema_interval_samples = int(ema_interval_samples)

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'update_creation'):
            raise TypeError(f'SelfImprovingHook needs a '
                            f'SelfImprovingEstimator, got '
                            f'{type(model).__name__}')
        return model

    def interval(self, runner) -> int:
        """K in iterations."""
        if self.ema_interval is not None:
            return max(1, int(self.ema_interval))
        loader = runner.train_dataloader
        batch = getattr(loader, 'batch_size', None) or getattr(
            getattr(loader, 'batch_sampler', None), 'batch_size', 1)
        total = int(batch) * int(runner.world_size)
        return max(1, round(self.ema_interval_samples / total))

    def before_train(self, runner) -> None:
        self._model(runner)
        runner.logger.info(
            f'SelfImprovingHook: stage 1 for {self.warmup_iters} iterations, '
            f'then stage 2 with EMA alpha {self.ema_alpha} every '
            f'{self.interval(runner)} iterations')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        model = self._model(runner)
        if runner.iter >= self.warmup_iters and not model.in_stage2:
            model.start_self_improving()
            runner.logger.info(f'SelfImprovingHook: stage 2 starts at '
                               f'iteration {runner.iter}: creation copy <- '
                               f'warm-up weights')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        model = self._model(runner)
        done = runner.iter + 1 - self.warmup_iters   # stage-2 iterations
        if model.in_stage2 and done > 0 and done % self.interval(runner) \
                == 0:
            model.update_creation(self.ema_alpha)
