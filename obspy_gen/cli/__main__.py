"""``python -m obspy_gen.cli`` = ``obspy-gen``."""
from obspy_gen.cli import main

if __name__ == "__main__":
    main(prog_name="obspy-gen")
