"""The sweep: inputs built from frozen weak labels, workers and executors that run methods, scoring
against gold labels, claims, progress, plan and status, verify.
"""
