"""Running inference in a process: the pipeline, its thread, rates, cause logs, CPU and memory tuning."""
