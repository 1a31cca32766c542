"""Values passed between stages, one type per concept.

The concepts: camera image, detection, box set, fusion result.

Import each from its own module; this package re-exports nothing, so it never imports torch.
"""
