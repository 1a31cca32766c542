"""Tiny model configurations shared by the model tests."""

# A tsjnet with the authors' topology but tiny widths and depths, for fast forward tests.
SMALL_TSJNET = dict(
    stem_chs=(8, 8, 16),
    resnest_planes=8,
    neck_chs=(16, 16),
    nat_embed_dim=16,
    nat_depths=(1, 1, 1, 1),
    nat_heads=(1, 1, 2, 2),
    nat_head_chs=(16, 16),
    decoder_reduce_chs=8,
    decoder_stem_chs=(8, 8, 16),
    decoder_planes=8,
    decoder_head_chs=16,
    dsm_attention_groups=4,
    decoder_attention_groups=4,
)
