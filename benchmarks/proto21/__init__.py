"""Issue 21's research and prototypes: measurements and compiled NHWC kernels for convolutional networks.

Not part of the package yet: the lead (or a second phase) moves what wins into
``src/chainrule/_compiled/``. README.md in this folder is the report of what was measured.
"""
