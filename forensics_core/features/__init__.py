"""Hand-crafted forensic features shared by several detectors (never duplicated per detector)."""
