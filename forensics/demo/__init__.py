"""Demo: sample traffic generator and the `forensics demo` pipeline."""
