"""Assets: pinned, hash-checked wheels fetched once into the cache, and the hub pins (commits)
every hub download is held to.
"""
