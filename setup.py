"""Install unidense: ``pip install -e .`` or ``pip install -e ".[dev]"``."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'unidense', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='unidense',
    version=read_version(),
    description='Unified diffusion models for image generation and dense '
    'perception (depth, normals, segmentation), on mmengine.',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['unidense', 'unidense.*']),
    include_package_data=True,
    install_requires=read_requirements('runtime'),
    extras_require=dict(dev=read_requirements('tests') +
                        read_requirements('demo') + read_requirements('docs') +
                        read_requirements('generation'),
                        generation=read_requirements('generation'),
                        demo=read_requirements('demo'),
                        docs=read_requirements('docs'),
                        optional=read_requirements('optional'),
                        bnb=read_requirements('bnb'),
                        deepspeed=read_requirements('deepspeed')),
    license='Apache-2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
