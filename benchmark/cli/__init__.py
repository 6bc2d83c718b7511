"""The console: one module per verb group. Imports everything; imported by nothing."""
