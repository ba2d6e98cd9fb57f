"""Core of obspy-gen: records, HVSR, smoothing, Stream integration. Never imports torch."""
