"""Tasks: the strict task and suite schemas, the task registry, and each replicate's example pool
and split draw.
"""
