"""The composition root: the ``wirestream`` command line that wires the
stages together (``cli``), operators' commands (``ops``) and developers'
tools (``dev``: local services, the demo, the pipeline harness). Nothing
under ``shared`` or ``services`` imports from here."""
