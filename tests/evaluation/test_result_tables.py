"""``EvalResult`` builds its pandas tables when they are first read."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pandas as pd
from test_evaluate import write_prediction

import vpsbench


def test_the_summary_alone_does_not_import_pandas(toy_gt, tmp_path):
    pred = write_prediction(toy_gt, tmp_path / "pred.h5", lambda video, row, gt: gt)
    script = (
        "import sys, vpsbench\n"
        f"result = vpsbench.evaluate({str(toy_gt)!r}, {str(pred)!r})\n"
        "assert result.summary['pq']['all'] == 100.0\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "assert result.per_class.shape[0] > 0 and 'pandas' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_tables_are_built_once_and_survive_pickling(toy_gt, tmp_path):
    pred = write_prediction(toy_gt, tmp_path / "pred.h5", lambda video, row, gt: gt)
    result = vpsbench.evaluate(toy_gt, pred, metrics="vpq,stq")
    copy = pickle.loads(pickle.dumps(result))
    assert result.per_class is result.per_class  # built once
    pd.testing.assert_frame_equal(copy.per_class, result.per_class)
    pd.testing.assert_frame_equal(copy.per_video, result.per_video)
    assert copy.summary == result.summary
    replaced = pd.DataFrame({"a": [1]})
    result.per_class = replaced
    assert result.per_class is replaced
