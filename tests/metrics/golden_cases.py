"""Tiny hand-specified inputs with known official scores, shared by tests.

The scores are those of the official mcahny/vps ``tools/eval_vpq.py`` run on these inputs
(docs/METRICS.md, 'VPQ', "Golden case").
"""

from __future__ import annotations

import numpy as np

from vpsbench.metrics.core import LabelSpace

VOID = 255_000
SPACE = LabelSpace(1000, 255, (0, 1, 11, 13), frozenset({11, 13}))
ROAD, SKY, PERSON, CAR = 0, 1_000, 11_000, 13_000


def tamper_demo_video() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The 8x8, 6-frame golden video: static car, car appearing, person id switch.

    The car that appears after the first frame is the tube whose GT area the pre-fix "data
    tampering" bug of ``tools/eval_vpq.py`` (fixed in mcahny/vps commit 72d59ab, PR #10)
    inflated, deflating VPQ at k >= 10 (hence the name).
    """
    gts, preds = [], []
    for t in range(6):
        gt = np.full((8, 8), ROAD, np.int32)
        gt[:3] = SKY
        gt[3:6, 0:3] = CAR + 1
        if t >= 2:
            gt[3:6, 5:8] = CAR + 2
        gt[6:8, 3:5] = PERSON + 1
        pred = gt.copy()
        pred[6:8, 3:5] = PERSON + (1 if t <= 2 else 2)
        gt[7, 7] = VOID
        if t == 5:
            pred[7, 7] = CAR + 9
        gts.append(gt)
        preds.append(pred)
    return gts, preds
