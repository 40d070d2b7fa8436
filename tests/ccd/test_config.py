"""Pipeline configuration: the NAV default of the report, TOML files, clear errors."""

from __future__ import annotations

import pytest

from etalon.ccd.pipeline import STEPS, Pipeline
from etalon.fileio import EtalonInputError


def test_default_is_the_nav_configuration():
    states = {name: s.state for name, s in Pipeline.default().steps.items()}
    assert list(states) == list(STEPS)
    enabled = {"saturation", "bias", "linearity", "noise", "dark", "smear", "flat", "badpixels",
               "despike"}
    skipped = {"crosstalk", "clean", "mtf", "radiance", "iof"}
    disabled = {"gain", "tempvolt", "geometric", "denoise", "bitweight"}
    assert {n for n, s in states.items() if s == "enabled"} == enabled
    assert {n for n, s in states.items() if s == "skipped"} == skipped
    assert {n for n, s in states.items() if s == "disabled"} == disabled
    table = Pipeline.default().table()
    assert "already in the flats" in table[table["step"] == "gain"]["reason"][0]
    assert "without real overclock" in table[table["step"] == "smear"]["reason"][0]


def test_toml_overlays_default(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text('[pipeline]\nname = "strict"\n[steps.despike]\nthreshold = 6.5\n'
                    '[steps.radiance]\nstate = "enabled"\nreason = "want radiance"\n')
    pipe = Pipeline.from_toml(path)
    assert pipe.name == "strict"
    assert pipe.steps["despike"].params["threshold"] == 6.5
    assert pipe.steps["despike"].state == "enabled"
    assert pipe.steps["radiance"].reason == "want radiance"


@pytest.mark.parametrize(("text", "message"), [
    ('[steps.warp]\nstate = "enabled"\n', "unknown step"),
    ('[steps.crosstalk]\nstate = "enabled"\n', "not implemented"),
    ('[steps.dark]\nstate = "maybe"\n', "state must be one of"),
    ('[steps.despike]\nsigma = 3\n', "unknown parameter"),
    ('[steps.despike]\nthreshold = "high"\n', "must be a number"),
    ("[steps\n", "not valid TOML"),
    ('[pipelin]\nname = "x"\n', "unknown table"),
    ('[pipeline]\nrespect_input = false\n', r"\[pipeline\]: unknown key"),
    ('[references]\ndakr = "my_dark.fits"\n', r"\[references\]: unknown key"),
    ('[references]\nsource = "synthetik"\n', "source must be one of"),
    ('[pipeline]\nrespect_input_keywords = "false"\n', "respect_input_keywords must be a bool"),
    ('[references]\ndark = 3\n', "dark must be a str"),
    ("[steps]\ndespike = 3\n", r"\[steps.despike\] must be a table"),
    ('[steps.despike]\niterations = 2.5\n', "iterations must be an integer"),
    ('[steps.dark]\nstate = true\n', "state must be one of"),
])
def test_bad_configuration_names_the_file(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EtalonInputError, match=message) as info:
        Pipeline.from_toml(path)
    assert str(info.value).startswith(str(path))


def test_missing_keyword_is_a_clear_error(simulated):
    frame = simulated.frame.copy()
    del frame.header["CCDT"]
    frame.source = "nav_frame.fits"
    with pytest.raises(EtalonInputError, match=r"nav_frame\.fits: keyword CCDT missing"):
        Pipeline.default().run(frame)


def test_unknown_filter_for_radiance(simulated):
    frame = simulated.frame.copy()
    frame.header["FILTER"] = "UNKNOWN"
    pipe = Pipeline({"steps": {"radiance": {"state": "enabled", "reason": "t"}}})
    with pytest.raises(EtalonInputError, match=r"FILTER is .UNKNOWN."):
        pipe.run(frame)


def test_frame_without_instrument_is_a_clear_error(simulated):
    frame = simulated.frame.copy()
    del frame.header["INSTRUME"]
    frame.source = "no_instrument.fits"
    with pytest.raises(EtalonInputError, match=r"no_instrument\.fits: INSTRUME is 'absent'"):
        Pipeline.default().run(frame)


def test_radiance_needs_a_positive_integration_time(simulated):
    frame = simulated.frame.copy()
    frame.header["INTTIME"] = 0.0
    frame.source = "zero.fits"
    pipe = Pipeline({"steps": {"radiance": {"state": "enabled", "reason": "t"},
                               "dark": {"state": "disabled", "reason": "t"}}})
    with pytest.raises(EtalonInputError, match=r"zero\.fits: INTTIME = 0 ms"):
        pipe.run(frame)
