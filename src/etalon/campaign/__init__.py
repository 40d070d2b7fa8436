"""Lunar calibration campaigns: drift after PO updates, orbit phases, flight acceptance.

Modules (one concept each; ``docs/campaign.md`` for the method, ``docs/results-file.md`` for the
results file):

- :mod:`.series`: measurement tables and PO registry in, checked; per-band series out;
- :mod:`.geometry`: phase-angle (waxing / waning apart) and libration terms;
- :mod:`.drift`: WLS, robust outlier rejection, linear / exponential trends, ``fit_drift``;
- :mod:`.steps`: PO steps measured and expected; reprocessing to one PO;
- :mod:`.phases`: phase levels and statistics;
- :mod:`.changepoints`: steps no PO explains (likelihood-ratio binary segmentation);
- :mod:`.model`: the joint model of one band; :mod:`.analysis`: a whole campaign;
- :mod:`.results`: the CF netCDF results file and the summary ECSV;
- :mod:`.acceptance`: in-flight acceptance criteria and verdicts;
- :mod:`.synthetic`: synthetic campaigns with truth; :mod:`.real`: AATSR / MERIS updates;
- :mod:`.plots`, :mod:`.cli`.

The public API is ``__all__`` below: other rooms (:mod:`etalon.desert`, :mod:`etalon.sno`)
import from ``etalon.campaign`` only, never from its modules.
"""

from etalon.campaign.analysis import CampaignResult, analyze_campaign, analyze_files
from etalon.campaign.drift import DriftFit, LinearFit, fit_drift, propagate, robust_fit
from etalon.campaign.results import (
    check_desert_terms,
    desert_terms_table,
    read_desert_terms,
    read_results,
    read_summary,
    summary_table,
    write_results,
    write_summary,
)
from etalon.campaign.series import read_measurements, read_po

__all__ = ["CampaignResult", "DriftFit", "LinearFit", "analyze_campaign", "analyze_files",
           "check_desert_terms", "desert_terms_table", "fit_drift", "propagate", "read_desert_terms",
           "read_measurements", "read_po", "read_results", "read_summary", "robust_fit", "summary_table",
           "write_results", "write_summary"]
