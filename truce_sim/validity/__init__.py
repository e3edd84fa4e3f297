"""The science checks: stylized facts and calibration against the historical cases."""
