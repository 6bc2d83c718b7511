"""Task kinds, one module each (:mod:`benchmark.core.kinds` says what a kind owns). Nothing
here is imported by a stage: the kind registry imports each module by name."""
