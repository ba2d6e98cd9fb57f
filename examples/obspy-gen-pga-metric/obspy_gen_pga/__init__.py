"""Example third-party obspy-gen site metric: peak ground acceleration of each record."""
from dataclasses import dataclass

import numpy as np

from obspy_gen import split_records
from obspy_gen.core.records import channel_component, station_key
from obspy_gen.plugins import SiteMetric


@dataclass
class PGAResult:
    """PGA of each record, in the data's units: per component and the larger horizontal."""

    station: str
    per_record: list

    def to_dict(self):
        return {"station": self.station, "per_record": self.per_record}


class PGAMetric(SiteMetric):
    """Peak ground acceleration (max |a|) per record and component."""

    name = "pga"
    version = "0.1.0"
    requires = ()

    def compute(self, records, **settings):
        if settings:
            raise TypeError(f"pga takes no settings, got {', '.join(settings)}")
        rows = []
        for rec in split_records(records):
            peaks = {channel_component(tr.stats.channel)[0]: float(np.max(np.abs(tr.data)))
                     for tr in rec}
            peaks["horizontal"] = max(peaks.get("N", 0.0), peaks.get("E", 0.0))
            peaks["starttime"] = str(min(tr.stats.starttime for tr in rec))
            rows.append(peaks)
        keys = sorted({station_key(tr) for rec in split_records(records) for tr in rec})
        return PGAResult(station=",".join(keys), per_record=rows)
