"""The engine: what to run (``config``), the plan built before any fit (``plan``), the fit
sequence (``fitting``), the cells (``cells``), scoring and timing, the tuning search, the
cross-dataset cell and the dataset audit. It knows no executor: executors take a plan and run
its cells."""
