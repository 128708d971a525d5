"""Dataset preparation that scales past one machine.

One pure per-record function (``record.prepare_record``: decode ->
landmarks if missing -> face crop or eye slot per the spec -> encode) runs
over shards of the dataset on an engine (``engines``: a local process pool,
or Ray Data on a cluster); ``shards`` writes resumable, atomic WebDataset
tar or npz shards with an index and a rejects file, and ``reader`` gives
training the shards back. Entry point: ``prepare_dataset``; command line:
``edge-affect prep``.
"""

from edge_affect.prep.pipeline import PrepSummary, prepare_dataset
from edge_affect.prep.record import TASKS, PrepConfig, Rejection, Sample, prepare_record

__all__ = ["PrepConfig", "PrepSummary", "Rejection", "Sample", "TASKS", "prepare_dataset", "prepare_record"]
