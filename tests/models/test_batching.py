from lepton_stream.models.serving import BucketedBatcher


def test_groups_cover_every_text_once_sorted_and_capped() -> None:
    lengths = [5, 40, 12, 7, 33, 9, 50, 11, 6, 8] * 13
    groups = BucketedBatcher(None, 64, 32).groups(lengths)
    flat = [i for g in groups for i in g]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(len(g) <= 32 for g in groups)
    assert [lengths[i] for i in flat] == sorted(lengths)  # groups are consecutive runs of the length order


def test_a_long_text_does_not_pad_a_group_of_short_ones() -> None:
    lengths = [10] * 20 + [60]
    groups = BucketedBatcher(None, 64, 64).groups(lengths)
    assert len(groups) == 2 and groups[-1] == [20]
    for g in groups:  # padding stays within the slack once a group has MIN_GROUP texts
        padded, real = max(lengths[i] for i in g) * len(g), sum(lengths[i] for i in g)
        assert len(g) < BucketedBatcher.MIN_GROUP or padded <= BucketedBatcher.SLACK * real


def test_parts_halve_the_largest_groups_down_to_min_piece() -> None:
    b = BucketedBatcher(None, 64, 64)
    lengths = [12] * 20  # one length group
    groups = b.groups(lengths, parts=2)
    assert [len(g) for g in groups] == [10, 10]
    assert sorted(i for g in groups for i in g) == list(range(20))
    assert len(b.groups([12] * 7, parts=2)) == 1  # halves would be under MIN_PIECE: one pass
    many = b.groups([5, 40, 12, 7, 33, 9, 50, 11, 6, 8] * 13, parts=2)
    assert many == b.groups([5, 40, 12, 7, 33, 9, 50, 11, 6, 8] * 13)  # already enough passes: unchanged
