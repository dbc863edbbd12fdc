"""Receivers of other apps' signals (connected in ``TrainingConfig.ready``)."""
