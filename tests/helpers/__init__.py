"""Test helpers shared by unidense's test-suite (toy model, data, metric)."""
