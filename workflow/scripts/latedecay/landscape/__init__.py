"""PCA loss landscapes (Fig. 2).

Modules: ``snapshots`` (gather the flattened-parameter trajectories), ``pca`` (exact PCA
through the N x N Gram matrix), ``surface`` (flat plane or the authors' curved surface, grid
axes), ``grid`` (chunking and merging of grid points), ``evaluate`` (many grid points per
forward pass with torch.func), ``jobs`` (the PCA and chunk jobs), ``merge`` (the merge job, numpy only), ``reference``
(one point at a time: the baseline of tests and bench).
"""
