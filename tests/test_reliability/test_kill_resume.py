"""Kill-and-resume, one trial per method in the default suite (MERGE's is
in tests/test_integration/test_merge_dist_and_resume.py): SIGKILL at a
random iteration, --resume, same weights as an uninterrupted run (max abs
diff 0). Ten trials each: tools/analysis_tools/kill_resume_trials.py (the
figures are in docs/reliability.md)."""
import os.path as osp

import pytest

from tools.analysis_tools.kill_resume_trials import main

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize('config', ['configs/jointnet/sd21_rgbd_tiny.py',
                                    'configs/diff2in1/bae_nyu_normal_tiny.py'])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, config, capsys):
    rc = main([osp.join(REPO, config), '--trials', '1', '--iters', '3',
               '--seed', '1', '--work-dir', str(tmp_path),
               '--cfg-options', 'train_dataloader.batch_size=2'])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert 'passed=1' in out and 'max_abs_diff=0' in out
