"""Toy-model theory (Fig. 3, Fig. 4, theory checks).

models      the three models (linear, diagonal, reparam): losses, gradients, closed forms
simulate    vectorized label-noise / mini-batch / SDE simulators (all chains per array op)
reference   the same update one chain at a time (yardstick for tests and bench/toy.py)
settings    the experiment names and roles; toy.sgd defaults merged with toy.experiments
            overrides, pruned for exact reruns
experiment  one experiment: problem, chain groups, recorded metrics -> .npz arrays
analysis    numbers of the theory checks (rates, phase times, fits, summary rows)
summary     results/toy/summary.csv
figure_data the numbers each figure shows (surfaces, paths, panel curves and fits)

The figures (Fig. 3, Fig. 4, the theory figure) are drawn by latedecay.plots.toy from
figure_data; nothing here imports latedecay.plots.
"""
