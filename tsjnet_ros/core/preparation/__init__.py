"""From a synchronised pair of camera images to the backend's input.

Size, registration, scaling.
"""
