"""Replay server for recorded boards and the synthetic board generator."""
