"""CNN-LSTM Vs30 predictor plugin ``cnn-lstm`` (the second seed paper).

Modules: :mod:`.windows` (record -> 15-s window + P/S mask, no torch), :mod:`.data` (labelled
windows of a folder, cache, station split), :mod:`.config` and :mod:`.model` (the network),
:mod:`.train` (training on the shared loop), :mod:`.plugin` (prediction).

Importing this package does not import torch.
"""
from obspy_gen.plugins.cnn_lstm.plugin import CNNLSTMPredictor
from obspy_gen.plugins.cnn_lstm.train import DEFAULT_CHECKPOINT, TrainSettings

__all__ = ["CNNLSTMPredictor", "TrainSettings", "DEFAULT_CHECKPOINT"]
