"""Baseline Lambda handlers the benchmark builds itself, so every ratio has a fixed, honest reference.

Each module is loaded as a Lambda handler would be (its folder is the task root); none is imported by the
benchmark process itself.
"""
