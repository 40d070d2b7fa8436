"""The batch helper: order, failures reported, the others finish; the small-batch rule; messages
from workers reach the caller."""

from __future__ import annotations

import argparse
import functools
import logging
import warnings

import pytest

from etalon import batch
from etalon.batch import (
    CLUSTER_STARTUP_S,
    batch_exit_code,
    check_scheduler,
    map_files,
    report_failures,
    use_local_cluster,
)
from etalon.fileio import EtalonInputError


def _square_or_fail(x: int, bad: int = 3) -> int:
    if x == 4:
        logging.getLogger("etalon.test").warning("file %s: a default was taken", x)
    if x == bad:
        raise ValueError(f"file {x} is broken")
    return x * x


def _warns(x: int) -> int:
    logging.getLogger("etalon.test").warning("default taken for %s", x)
    warnings.warn(f"degraded {x}", UserWarning, stacklevel=1)
    return x


@pytest.mark.parametrize("scheduler", ["synchronous", "local"])
def test_results_in_input_order_and_failure_reported(scheduler, caplog):
    inputs = [5, 3, 1, 4, 2]
    results = map_files(functools.partial(_square_or_fail, bad=3), inputs,
                        scheduler=scheduler, progress=False, n_workers=2)
    assert [r.path for r in results] == ["5", "3", "1", "4", "2"]
    assert [r.value for r in results] == [25, None, 1, 16, 4]
    assert [r.ok for r in results] == [True, False, True, True, True]
    assert results[1].error == "ValueError: file 3 is broken"
    assert "_square_or_fail" in results[1].traceback
    assert results[3].messages == [("etalon.test", logging.WARNING, "file 4: a default was taken")]
    with caplog.at_level(logging.ERROR, logger="etalon"):
        assert report_failures(results) == 1
    assert "FAILED 3: ValueError: file 3 is broken" in caplog.text
    assert "1 of 5 file(s) failed" in caplog.text
    assert batch_exit_code(results) == 1


def test_empty_batch():
    assert map_files(_square_or_fail, [], progress=False) == []


def test_existing_scheduler_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        results = map_files(_square_or_fail, [1, 2, 3], scheduler=cluster.scheduler_address, progress=False)
    assert [r.value for r in results] == [1, 4, None]


def test_worker_warnings_and_log_messages_reach_the_caller(caplog):
    """Synchronous here; the local-cluster case is in the test above (one cluster start)."""
    with caplog.at_level(logging.WARNING, logger="etalon"):
        results = map_files(_warns, [7, 8], scheduler="synchronous", progress=False)
    assert [r.value for r in results] == [7, 8]
    assert "7: default taken for 7" in caplog.text and "8: default taken for 8" in caplog.text
    assert "7: UserWarning: degraded 7" in caplog.text


def test_small_batch_rule(tmp_path, monkeypatch):
    """In process below MIN_FILES_FOR_CLUSTER files, or when the estimated work saves less than
    the cluster's start-up; a cluster when it pays; never with one worker."""
    assert not use_local_cluster(list(range(3)), n_workers=2, seconds_per_file=100)
    assert not use_local_cluster(list(range(6)), n_workers=2, seconds_per_file=0.15)  # 0.45 s saved
    assert use_local_cluster(list(range(6)), n_workers=2, seconds_per_file=2.0)  # 6 s saved > 3 s
    assert not use_local_cluster(list(range(60)), n_workers=1, seconds_per_file=2.0)
    # from the file sizes: six 3 MB NAV products (0.45 s each) -> 1.35 s saved: in process
    files = []
    for i in range(6):
        f = tmp_path / f"f{i}.fits"
        f.write_bytes(b"\0" * 3_000_000)
        files.append(f)
    assert batch.estimate_work_s(files) == pytest.approx(6 * (0.15 + 0.3))
    assert not use_local_cluster(files, n_workers=2)
    assert 6 * (0.15 + 0.3) * 0.5 < CLUSTER_STARTUP_S
    # the rule decides when no --scheduler is given; --scheduler always wins
    calls = []
    monkeypatch.setattr(batch, "_map_distributed", lambda *a: calls.append(a[2]) or [])
    map_files(_square_or_fail, [1, 2, 4], progress=False)
    assert calls == []
    map_files(_square_or_fail, [1, 2, 4], scheduler="local", progress=False)
    map_files(_square_or_fail, list(range(10)), progress=False, n_workers=2, seconds_per_file=5)
    assert calls == ["local", None]
    map_files(_square_or_fail, list(range(10)), scheduler="synchronous", progress=False,
              n_workers=2, seconds_per_file=5)
    assert calls == ["local", None]


@pytest.mark.parametrize("text", ["synchronous", "local", "tcp://10.0.0.5:8786", "10.0.0.5:8786",
                                  "tls://host.example:8786", "inproc://10.0.0.1/123/1"])
def test_scheduler_values_accepted(text):
    assert check_scheduler(text) == text


@pytest.mark.parametrize("text", ["nonsense", "tcp://", "", "http//x", "8786"])
def test_bad_scheduler_values_are_refused_by_the_parser(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a scheduler"):
        check_scheduler(text)


def _bad_input(x: str) -> int:
    raise EtalonInputError(x, "damaged FITS file")


def test_exit_code_two_when_every_input_is_bad(caplog):
    results = map_files(_bad_input, ["in1.fits", "in2.fits"], scheduler="synchronous", progress=False)
    assert batch_exit_code(results) == 2
    assert results[0].message == "in1.fits: damaged FITS file"
    mixed = map_files(_bad_input, ["in1.fits"], progress=False)
    mixed += map_files(_square_or_fail, [2], progress=False)
    assert batch_exit_code(mixed) == 1
