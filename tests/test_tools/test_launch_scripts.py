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


def _dry_run(script, args, **env):
    import shlex
    out = subprocess.run(['bash', osp.join(REPO, 'tools', script)] + args,
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, DRY_RUN='1', PYTHON='python',
                                  PYTHONPATH='', **env))
    return shlex.split(out.stdout)


def test_slurm_dry_run_prints_the_exact_srun_command():
    cmd = _dry_run('slurm_train.sh',
                   ['gpu', 'merge-l', 'configs/merge/flux_depth.py',
                    '--work-dir', 'work dirs/x'],
                   GPUS='16', GPUS_PER_NODE='8',
                   SRUN_ARGS='--time=2:00:00 --qos=high')
    assert cmd[:4] == ['env', f'PYTHONPATH={REPO}', 'srun', '-p']
    assert cmd[4:13] == ['gpu', '--job-name=merge-l', '--gres=gpu:8',
                         '--ntasks=16', '--ntasks-per-node=8',
                         '--cpus-per-task=5', '--kill-on-bad-exit=1',
                         '--time=2:00:00', '--qos=high']
    assert cmd[13:] == ['python', '-u', osp.join(REPO, 'tools', 'train.py'),
                        'configs/merge/flux_depth.py', '--launcher=slurm',
                        '--work-dir', 'work dirs/x']   # quoting survives
    test = _dry_run('slurm_test.sh', ['gpu', 'j', 'c.py', 'ck.pth'])
    assert test[-3:] == ['c.py', 'ck.pth', '--launcher=slurm']
    assert '--ntasks=4' in test and 'srun' in test


def test_multi_node_torchrun_dry_run():
    cmd = _dry_run('dist_train.sh', ['configs/merge/pixart_depth.py', '8',
                                     '--amp'],
                   NNODES='2', NODE_RANK='1', MASTER_ADDR='10.0.0.1',
                   PORT='29611')
    assert cmd[2:] == [
        'python', '-m', 'torch.distributed.run', '--nnodes=2',
        '--node_rank=1', '--master_addr=10.0.0.1', '--nproc_per_node=8',
        '--master_port=29611', osp.join(REPO, 'tools', 'train.py'),
        'configs/merge/pixart_depth.py', '--launcher', 'pytorch', '--amp']
    test = _dry_run('dist_test.sh', ['c.py', 'ck.pth', '2'])
    assert test[-4:] == ['c.py', 'ck.pth', '--launcher', 'pytorch']
    assert '--nproc_per_node=2' in test
