"""PEER NGA strong-motion records (.AT2/.VT2/.DT2): ``obspy.read`` format ``"PEER"``."""
