import os
import os.path as osp
import stat
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPTS = ['dist_train.sh', 'dist_test.sh', 'slurm_train.sh',
           'slurm_test.sh', 'run_demo.sh']


@pytest.mark.parametrize('name', SCRIPTS)
def test_script_is_valid_executable_bash(name):
    path = osp.join(REPO, 'tools', name)
    assert os.stat(path).st_mode & stat.S_IXUSR, f'{name} not executable'
    subprocess.run(['bash', '-n', path], check=True)
    assert 'set -euo pipefail' in open(path).read()


def test_launchers_use_torchrun_and_slurm_launcher():
    text = {n: open(osp.join(REPO, 'tools', n)).read() for n in SCRIPTS}
    for n in ('dist_train.sh', 'dist_test.sh'):
        assert 'torch.distributed.run' in text[n]
        assert '--launcher pytorch' in text[n]
        for knob in ('NNODES', 'NODE_RANK', 'PORT', 'MASTER_ADDR'):
            assert knob in text[n], (n, knob)
    for n in ('slurm_train.sh', 'slurm_test.sh'):
        assert 'srun' in text[n] and '--launcher="slurm"' in text[n]
    assert '"${@:3}"' in text['dist_train.sh']
    assert '"${@:4}"' in text['dist_test.sh']


def test_dist_train_without_args_fails_loudly():
    out = subprocess.run(['bash', osp.join(REPO, 'tools', 'dist_train.sh')],
                         capture_output=True, text=True)
    assert out.returncode != 0
