"""The batch helper: order, failures reported, the others finish; local cluster and in-process."""

from __future__ import annotations

import functools

import pytest

from etalon.batch import map_files, report_failures


def _square_or_fail(x: int, bad: int = 3) -> int:
    if x == bad:
        raise ValueError(f"file {x} is broken")
    return x * x


@pytest.mark.parametrize("scheduler", ["synchronous", None])
def test_results_in_input_order_and_failure_reported(scheduler, capsys):
    inputs = [5, 3, 1, 4, 2]
    results = map_files(functools.partial(_square_or_fail, bad=3), inputs,
                        scheduler=scheduler, progress=False, n_workers=2)
    assert [r.path for r in results] == ["5", "3", "1", "4", "2"]
    assert [r.value for r in results] == [25, None, 1, 16, 4]
    assert [r.ok for r in results] == [True, False, True, True, True]
    assert results[1].error == "ValueError: file 3 is broken"
    assert "_square_or_fail" in results[1].traceback
    assert report_failures(results) == 1
    err = capsys.readouterr().err
    assert "FAILED 3: ValueError: file 3 is broken" in err
    assert "1 of 5 file(s) failed" in err


def test_empty_batch():
    assert map_files(_square_or_fail, [], progress=False) == []


def test_existing_scheduler_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        results = map_files(_square_or_fail, [1, 2, 3], scheduler=cluster.scheduler_address, progress=False)
    assert [r.value for r in results] == [1, 4, None]
