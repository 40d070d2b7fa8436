"""The one CLI convention: output checks before any work, logging to the terminal."""

from __future__ import annotations

import argparse
import io
import logging
import os

import pytest

from etalon.cliutil import (
    UsageError,
    add_common_options,
    check_outputs,
    output_dir_or_error,
    setup_logging,
    unique_inputs,
)
from etalon.fileio import EtalonOutputError


@pytest.fixture
def files(tmp_path):
    for name in ("a.fits", "a_cal.fits", "x.fits", "x.fit"):
        (tmp_path / name).write_bytes(b"input " + name.encode())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.fits").write_bytes(b"another a")
    return tmp_path


def test_every_product_is_checked_against_every_input_of_the_batch(files, monkeypatch):
    # ccd calibrate a.fits a_cal.fits --output-dir .  (a's product is the second input)
    with pytest.raises(UsageError, match=r"a_cal\.fits: output is the input .*a_cal\.fits"):
        check_outputs([files / "a.fits", files / "a_cal.fits"],
                      [files / "a_cal.fits", files / "a_cal_cal.fits"])
    # a relative spelling of the same file is the same file
    monkeypatch.chdir(files)
    with pytest.raises(UsageError, match="output is the input"):
        check_outputs(["a.fits"], ["./sub/../a.fits"])


def test_two_inputs_one_product_name_is_refused_naming_both(files):
    with pytest.raises(UsageError, match=r"x\.fits and .*x\.fit would both write .*x_prep\.fits"):
        check_outputs([files / "x.fits", files / "x.fit"], [files / "o" / "x_prep.fits"] * 2)
    with pytest.raises(UsageError, match=r"a\.fits and .*sub/a\.fits would both write"):
        check_outputs([files / "a.fits", files / "sub" / "a.fits"], [files / "o" / "a.fits.fits"] * 2)
    check_outputs([files / "a.fits", files / "x.fits"], [files / "o" / "a.f", files / "o" / "x.f"])


def test_outputs_that_cannot_be_written_are_refused_before_any_work(files):
    with pytest.raises(EtalonOutputError, match="is an existing folder"):
        check_outputs([files / "a.fits"], [files / "sub"])
    with pytest.raises(EtalonOutputError, match=r"a\.fits is a file, not a folder"):
        check_outputs([files / "x.fits"], [files / "a.fits" / "deeper" / "out.fits"])
    with pytest.raises(EtalonOutputError, match="file name too long"):
        check_outputs([files / "x.fits"], [files / ("n" * 300 + ".ecsv")])
    with pytest.raises(EtalonOutputError, match="--output-dir is a file"):
        output_dir_or_error(files / "a.fits")
    assert output_dir_or_error(files / "new" / "dir") == files / "new" / "dir"
    assert not (files / "new").exists()  # nothing created by a check


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere: no unwritable folder")
def test_unwritable_folder_is_refused(files):  # pragma: no cover - CI runs as root
    ro = files / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(EtalonOutputError, match="not writable"):
        check_outputs([], [ro / "out.fits"])


def test_the_same_input_twice_is_processed_once_with_a_warning(files, caplog):
    with caplog.at_level(logging.WARNING, logger="etalon"):
        assert unique_inputs([files / "a.fits", files / "x.fits", files / "sub" / ".." / "a.fits"]) == \
            [str(files / "a.fits"), str(files / "x.fits")]
    assert "given more than once" in caplog.text


def test_setup_logging_levels_and_format():
    stream = io.StringIO()
    setup_logging(0, False, "text", stream=stream)
    log = logging.getLogger("etalon.some.module")
    log.info("hidden")
    log.warning("CCDT unknown")
    assert stream.getvalue() == "warning: CCDT unknown\n"
    stream = io.StringIO()
    setup_logging(1, False, "json", stream=stream)
    log.info("shown")
    assert '"level": "INFO"' in stream.getvalue() and '"message": "shown"' in stream.getvalue()
    stream = io.StringIO()
    setup_logging(0, True, "text", stream=stream)
    log.warning("hidden by -q")
    log.error("shown")
    assert stream.getvalue() == "error: shown\n"
    setup_logging()  # back to the default for other tests


def test_common_options():
    p = argparse.ArgumentParser()
    add_common_options(p, output="both", output_required=True, scheduler=True)
    args = p.parse_args(["-o", "f.fits", "-vv", "--no-progress", "--scheduler", "synchronous"])
    assert (args.output, args.output_dir, args.verbose, args.no_progress, args.scheduler) == \
        ("f.fits", None, 2, True, "synchronous")
    with pytest.raises(SystemExit):
        p.parse_args(["-o", "f", "--output-dir", "d"])
    with pytest.raises(SystemExit):
        p.parse_args(["-q", "-v", "-o", "f"])


def test_replacing_existing_products_is_said_once(files, caplog):
    with caplog.at_level(logging.WARNING, logger="etalon"):
        check_outputs([files / "x.fits"], [files / "a.fits"])
    assert f"{files / 'a.fits'} exists: replaced" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="etalon"):
        check_outputs([files / "sub" / "a.fits"], [files / "a.fits", files / "x.fit", files / "new.fits"])
    assert caplog.text.count("replaced") == 1 and "and 1 more exist: replaced" in caplog.text
