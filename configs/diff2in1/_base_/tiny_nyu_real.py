# The 50 real NYUv2 test images in ../shared/data/realdata for the tiny
# Diff-2-in-1 models trained on 64x64 SyntheticScenes (the *_tiny_nyu_real
# configs): each image is resized to 96x128 (its aspect, a multiple of the
# tiny UNet's stride 32) and predictions are resized back to 480x640.
# Ground truth: depth in metres; normals derived from that depth with the
# NYU camera (NormalsFromDepth: the realdata holds no normal ground truth);
# the 13-class labels mapped to the tiny models' room classes (ceiling,
# floor, wall; every other class ignored).
tiny_nyu_root = ('{{ fileDirname }}/../../../../shared/data/realdata/'
                 'nyu_depth_v2')
tiny_nyu_input_size = (96, 128)
# 13-class ids after reduce_zero_label (0 bed .. 12 window) -> SyntheticScenes
# classes (0 floor, 1 wall, 2 ceiling); 255 ignored
tiny_nyu_to_room = [255, 255, 2, 255, 0, 255, 255, 255, 255, 255, 255, 1,
                    255]


tiny_nyu_base_loader = dict(
    _delete_=True, batch_size=5, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='NYUv2Dataset', data_root=tiny_nyu_root + '/nyu2_test',
                 num_classes=13, test_mode=True))
tiny_nyu_depth_pipeline = [
    dict(type='LoadImage'), dict(type='LoadDepth'),
    dict(type='PackDenseInputs')]
tiny_nyu_normal_pipeline = [
    dict(type='LoadImage'), dict(type='LoadDepth'),
    dict(type='NormalsFromDepth'), dict(type='PackDenseInputs')]
tiny_nyu_seg_pipeline = [
    dict(type='LoadImage'), dict(type='LoadSemSeg'),
    dict(type='MapLabels', dst='gt_sem_seg', lut=tiny_nyu_to_room),
    dict(type='PackDenseInputs')]
tiny_nyu_label_prefix = dict(seg_map_path=tiny_nyu_root + '/test_labels_13')
