"""Sentiment propagation, precomputed: for every node, the best simple path to each node within `max_hops`.

Each relation carries sentiment with a factor per direction (schema.RELATIONS); one hop multiplies the edge weight
by that factor, and every hop after the first also by `decay`. A path's weight is the product. Per (source, target)
only the strongest simple path is kept (a cycle can neither revisit a node nor add a second contribution), paths
under `min_weight` are dropped, and at most `top_k` targets per source are stored.

The expansion is vectorised with numpy over arcs sorted by factor, so a frontier path only meets the arcs that can
keep it above `min_weight`: the work is proportional to the result, not to the k-hop neighbourhood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 20  # frontier rows expanded at a time, to bound peak memory


@dataclass(frozen=True)
class PropagationSettings:
    max_hops: int = 2
    decay: float = 0.8
    min_weight: float = 0.05
    top_k: int = 32

    def __post_init__(self) -> None:
        if not 1 <= self.max_hops <= 6:
            raise ValueError("max_hops must be in 1..6 (paths are bounded)")
        if not (0 < self.decay <= 1 and 0 < self.min_weight <= 1 and self.top_k >= 1):
            raise ValueError("decay and min_weight must be in (0, 1], top_k >= 1")


def _by_group_then_weight(group: np.ndarray, w: np.ndarray, n_groups: int) -> np.ndarray:
    """Row order by group ascending, then weight (in (0, 1]) descending.

    One sort of an int64 key (group, then the weight quantised to 2^-22) instead of a multi-key lexsort: 3x
    faster on the millions of candidate paths of a large graph. Weights closer than 2^-22 keep file order.
    """
    if int(n_groups).bit_length() <= 40:
        wq = np.round((1.0 - np.clip(w, 0.0, 1.0)) * ((1 << 22) - 1)).astype(np.int64)
        return np.argsort((group.astype(np.int64) << 22) | wq, kind="stable")
    return np.lexsort((-w, group))


class Neighbourhoods:
    def __init__(
        self,
        n_nodes: int,
        edge_src: np.ndarray,
        edge_dst: np.ndarray,
        edge_rel: np.ndarray,
        edge_w: np.ndarray,
        forward: np.ndarray,
        backward: np.ndarray,
        settings: PropagationSettings,
    ):
        """edge_rel indexes forward/backward (factors per relation). Labels: 2*rel along the edge, 2*rel+1 against."""
        self.settings = s = settings
        fw, bw = forward[edge_rel] * edge_w, backward[edge_rel] * edge_w
        a_src = np.concatenate([edge_src, edge_dst]).astype(np.int64)
        a_dst = np.concatenate([edge_dst, edge_src]).astype(np.int32)
        a_f = np.concatenate([fw, bw]).astype(np.float64)
        a_lab = np.concatenate([edge_rel * 2, edge_rel * 2 + 1]).astype(np.int16)
        keep = a_f >= s.min_weight
        a_src, a_dst, a_f, a_lab = a_src[keep], a_dst[keep], a_f[keep], a_lab[keep]
        order = _by_group_then_weight(a_src, a_f, n_nodes)  # by source, strongest first
        a_src, a_dst, a_f, a_lab = a_src[order], a_dst[order], a_f[order], a_lab[order]
        indptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(a_src, minlength=n_nodes), out=indptr[1:])
        # Sorted key: source id + (1 - factor) ascends within and across sources, so one searchsorted finds how
        # many arcs of a node still clear a threshold.
        arc_key = a_src + (1.0 - a_f)
        maxout = np.zeros(n_nodes)
        has = indptr[1:] > indptr[:-1]
        maxout[has] = a_f[indptr[:-1][has]]

        H = s.max_hops
        # path table: weight, node columns n0..nH (-1 = unused), label columns l1..lH
        w = a_f.copy()
        nodes = [a_src.astype(np.int32), a_dst] + [np.full(len(w), -1, np.int32) for _ in range(H - 1)]
        labs = [a_lab] + [np.full(len(w), -1, np.int16) for _ in range(H - 1)]
        parts = [(w, nodes, labs)]
        front = parts[0]
        for hop in range(2, H + 1):
            fw_, fn, fl = front
            last = fn[hop - 1]
            go = fw_ * maxout[last] * s.decay >= s.min_weight
            new_w, new_n, new_l = [], [[] for _ in range(H + 1)], [[] for _ in range(H)]
            idx_all = np.nonzero(go)[0]
            for c0 in range(0, len(idx_all), CHUNK):
                idx = idx_all[c0:c0 + CHUNK]
                lst = last[idx].astype(np.int64)
                thresh = s.min_weight / (fw_[idx] * s.decay)
                hi = np.searchsorted(arc_key, lst + (1.0 - thresh), side="right")
                lo = indptr[lst]
                counts = np.maximum(hi - lo, 0)
                total = int(counts.sum())
                if not total:
                    continue
                rep = np.repeat(np.arange(len(idx)), counts)
                offs = np.cumsum(counts) - counts
                arc = lo[rep] + (np.arange(total) - offs[rep])
                dst = a_dst[arc]
                ok = np.ones(total, dtype=bool)
                for col in range(hop):  # simple paths only: never step back onto the path
                    ok &= dst != fn[col][idx][rep]
                rows = idx[rep[ok]]
                arc = arc[ok]
                new_w.append(fw_[rows] * a_f[arc] * s.decay)
                for col in range(H + 1):
                    new_n[col].append(a_dst[arc] if col == hop else fn[col][rows])
                for col in range(H):
                    new_l[col].append(a_lab[arc] if col == hop - 1 else fl[col][rows])
            if not new_w:
                break
            front = (np.concatenate(new_w), [np.concatenate(c) for c in new_n], [np.concatenate(c) for c in new_l])
            parts.append(front)

        w = np.concatenate([p[0] for p in parts])
        src = np.concatenate([p[1][0] for p in parts])
        end = np.concatenate([self._end(p[1], h + 1) for h, p in enumerate(parts)])
        # strongest path per (source, target), then the top_k targets per source
        order = _by_group_then_weight(src.astype(np.int64) * n_nodes + end, w, n_nodes * n_nodes)
        src, end, w = src[order], end[order], w[order]
        first = np.ones(len(w), dtype=bool)
        first[1:] = (src[1:] != src[:-1]) | (end[1:] != end[:-1])
        sel = order[first]
        w_all = w
        src, w = src[first], w_all[first]
        order2 = _by_group_then_weight(src, w, n_nodes)
        sel, src, w = sel[order2], src[order2], w[order2]
        starts = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n_nodes), out=starts[1:])
        rank = np.arange(len(src)) - starts[src]
        keep = rank < s.top_k
        sel, src, w = sel[keep], src[keep], w[keep]
        self.indptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n_nodes), out=self.indptr[1:])
        self.weight = w.astype(np.float32)
        self.target = end[first][order2][keep].astype(np.int32)
        del w_all, end, order, first, order2, keep
        # gather the kept paths column by column, so only one full-length column is alive at a time
        self.path_nodes = np.empty((len(sel), H + 1), np.int32)  # -1 padded
        self.path_labels = np.empty((len(sel), H), np.int16)  # -1 padded
        for c in range(H + 1):
            self.path_nodes[:, c] = np.concatenate([p[1][c] for p in parts])[sel]
        for c in range(H):
            self.path_labels[:, c] = np.concatenate([p[2][c] for p in parts])[sel]

    @staticmethod
    def _end(node_cols: list[np.ndarray], hops: int) -> np.ndarray:
        return node_cols[hops]

    def __len__(self) -> int:
        return len(self.weight)

    def of(self, node: int) -> range:
        """Row indices of the stored paths from node, strongest first."""
        return range(int(self.indptr[node]), int(self.indptr[node + 1]))

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.indptr, self.weight, self.path_nodes, self.path_labels, self.target))
