# SyntheticScenes: procedural RGB-D rooms, no files needed. Used by the
# *_tiny configs, the CPU demo and the tests. 64x64 renders at ~300/s.
# Training and evaluation parts together.
_base_ = ['./synthetic_scenes_train.py', './synthetic_scenes_eval.py']
