"""This project's `dg` defs folder: each subfolder's `defs.yaml` is a component instance."""
