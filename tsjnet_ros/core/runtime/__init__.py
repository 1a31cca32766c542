"""Running fusion: the fusion stream and its settings, pipeline, thread, rates, CPU tuning."""
