"""exit_process_group_run: a finished distributed run leaves through
os._exit with its logs flushed; without a process group it is a no-op."""
import subprocess
import sys
import textwrap

from unidense.utils.dist_env import exit_process_group_run


def test_no_process_group_is_a_no_op():
    assert exit_process_group_run() is None   # returned: nothing to end


def test_finished_gloo_run_exits_with_code_and_flushed_output(tmp_path):
    script = textwrap.dedent('''
        import logging, sys
        import torch.distributed as dist
        from unidense.utils.dist_env import exit_process_group_run
        store = dist.HashStore()
        dist.init_process_group('gloo', store=store, rank=0, world_size=1)
        logging.basicConfig(filename=sys.argv[1], level=logging.INFO)
        logging.info('work done')
        sys.stdout.write('no newline, buffered')
        exit_process_group_run(3)
        print('not reached')
    ''')
    log = tmp_path / 'run.log'
    proc = subprocess.run([sys.executable, '-c', script, str(log)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == 'no newline, buffered'
    assert 'work done' in log.read_text()
