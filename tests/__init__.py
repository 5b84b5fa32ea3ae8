"""unidense tests (a regular package: torch-fidelity installs a top-level
``tests`` package into site-packages that would shadow a namespace one)."""
