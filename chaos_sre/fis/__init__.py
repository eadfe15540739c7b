"""AWS Fault Injection Service as the engine: chaos-sre's faults as FIS experiment templates.

:mod:`chaos_sre.fis.actions` is the one table of FIS actions used, :mod:`chaos_sre.fis.mapping`
the contract a fault declares its FIS mapping with, :mod:`chaos_sre.fis.export` turns an
experiment into a CreateExperimentTemplate input (``chaos-sre fis export``). docs/fis.md says
when to use ``chaos run`` and when FIS, and what FIS cannot express.
"""
