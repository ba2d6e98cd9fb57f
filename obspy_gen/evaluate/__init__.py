"""Evaluation of generated records against real ones that cannot be gamed.

The TimesNet-Gen paper's evaluation (f0 distributions per station, 1 - Jensen-Shannon
divergence between them, the (groups x stations)^2 similarity matrix and its alignment score
with the ideal block matrix), plus what a reviewer needs to trust it: every figure on the same
record counts as its real-vs-real ceiling, with 90 % intervals; per-station f0 median error,
spread ratio and outliers; distances of intensity-measure distributions; memorisation and
mixing against the training and reference records; a verdict naming the failing figures.
See :data:`DEFINITIONS` for the exact definitions and the choices the paper leaves open.

Examples
--------
>>> from obspy_gen.evaluate import js_similarity, ideal_block_matrix, alignment_score
>>> js_similarity([3, 1, 0], [3, 1, 0])
1.0
>>> alignment_score(ideal_block_matrix(3, 2), ideal_block_matrix(3, 2))
1.0
"""
from obspy_gen.evaluate.core import (DEFINITIONS, JUDGED_IMS,  # noqa: F401
                                     EvaluationReport, StationDistribution, evaluate)
from obspy_gen.evaluate.distributions import (distribution_distances,  # noqa: F401
                                              f0_bin_edges, f0_histogram, js_similarity,
                                              pairwise_js_similarity)
from obspy_gen.evaluate.memorisation import (max_ncc, memorisation_figures,  # noqa: F401
                                             mixing_r2)
from obspy_gen.evaluate.scores import alignment_scores, station_scores  # noqa: F401
from obspy_gen.evaluate.similarity import (alignment_score, bootstrap_ceiling,  # noqa: F401
                                           ideal_block_matrix, random_halves,
                                           similarity_matrix)

__all__ = ["evaluate", "EvaluationReport", "StationDistribution", "DEFINITIONS",
           "f0_bin_edges", "f0_histogram", "js_similarity", "pairwise_js_similarity",
           "distribution_distances", "similarity_matrix", "ideal_block_matrix",
           "alignment_score", "bootstrap_ceiling", "random_halves", "write_report",
           "JUDGED_IMS", "max_ncc", "mixing_r2", "memorisation_figures", "alignment_scores",
           "station_scores"]


def write_report(report, out, **kwargs):
    """Write ``report.json``, PNG figures and a self-contained ``report.html`` into ``out``.

    Thin wrapper of :func:`obspy_gen.evaluate.report.write_report` (imports matplotlib only
    when called).

    Examples
    --------
    >>> import tempfile
    >>> from obspy import read
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2)
    >>> paths = write_report(rep, tempfile.mkdtemp())
    >>> [p.name for p in paths][-2:]
    ['report.json', 'report.html']
    """
    from obspy_gen.evaluate.report import write_report as _write
    return _write(report, out, **kwargs)
