"""PCA loss landscapes (Fig. 2).

Modules: ``snapshots`` (gather the flattened-parameter trajectories), ``pca`` (exact PCA
through the N x N Gram matrix), ``surface`` (grid axes; flat plane or the authors' curved
surface), ``grid`` (chunking and merging of grid points), ``evaluate`` (many grid points
per forward pass with torch.func), ``reference`` (one point at a time: the baseline of the
tests and the benchmark), ``settings`` (what the chunk and paths jobs read; torch-free, for
the rules), ``jobs`` (the PCA, chunk and paths jobs), ``merge`` (the merge job and
summary; numpy only, for the plot environment), ``figure_data`` (every number Fig. 2 shows,
drawn by ``latedecay.plots.fig2``; nothing here imports latedecay.plots).
"""
