"""Method discovery (baselines, submissions, entry points), submission metadata, the import allow-
list scan and the new-method scaffold.
"""
