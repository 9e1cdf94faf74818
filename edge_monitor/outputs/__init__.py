"""Outputs of a run: the JSON Lines event log and the annotated video."""
