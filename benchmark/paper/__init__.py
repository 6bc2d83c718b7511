"""Reproductions of published studies (burns2023) on the same loaders, ladder, trainer, records and
frozen format.
"""
