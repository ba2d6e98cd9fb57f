"""Evaluation of generated records against real ones: f0 distributions, similarity, ceilings.

The TimesNet-Gen paper's evaluation (f0 distributions per station, 1 - Jensen-Shannon
divergence between them, the (groups x stations)^2 similarity matrix and its alignment score
with the ideal block matrix), with every score reported next to its ceiling: the same score
between two random halves of the reference (real) group. See :data:`DEFINITIONS` for the exact
definitions and the choices the paper leaves open.

Examples
--------
>>> from obspy_gen.evaluate import js_similarity, ideal_block_matrix, alignment_score
>>> js_similarity([3, 1, 0], [3, 1, 0])
1.0
>>> alignment_score(ideal_block_matrix(3, 2), ideal_block_matrix(3, 2))
1.0
"""
from obspy_gen.evaluate.core import (DEFINITIONS, EvaluationReport,  # noqa: F401
                                     StationDistribution, evaluate)
from obspy_gen.evaluate.distributions import (distribution_distances,  # noqa: F401
                                              f0_bin_edges, f0_histogram, js_similarity,
                                              pairwise_js_similarity)
from obspy_gen.evaluate.similarity import (alignment_score, bootstrap_ceiling,  # noqa: F401
                                           ideal_block_matrix, random_halves,
                                           similarity_matrix)

__all__ = ["evaluate", "EvaluationReport", "StationDistribution", "DEFINITIONS",
           "f0_bin_edges", "f0_histogram", "js_similarity", "pairwise_js_similarity",
           "distribution_distances", "similarity_matrix", "ideal_block_matrix",
           "alignment_score", "bootstrap_ceiling", "random_halves", "write_report"]


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
