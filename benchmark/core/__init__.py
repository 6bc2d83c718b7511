"""Core: errors, the one registry, strict schemas, atomic storage, paths, provenance, compute
accounting, metrics. Imports nothing else of benchmark.
"""
