"""VENuS (Venμs, CNES): the instrument's facts in one place.

- :mod:`etalon.venus.bands`: the 12 bands, detector units D1..D4, responses.
"""
