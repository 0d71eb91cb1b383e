"""latedecay: reproduce Ren, Ma & Ying (AISTATS 2024), "Understanding the
Generalization Benefits of Late Learning Rate Decay".

Subpackages: ``toy`` (toy-model theory), ``nn`` (CIFAR-10 training), ``landscape``
(PCA loss landscapes), ``config`` (the config's validation), ``plots`` (drawing only,
on top of everything else). Modules: ``metrics`` (the metrics.json contract);
``fig1_runs``, ``fig1_table``, ``verdict`` and ``fig1_panels`` (Fig. 1's runs, table,
verdict and the numbers its panels show); ``stats`` (intervals, exact tests, trends);
``names`` (run labels, metric names); ``fields`` (settings dataclasses read from the
config); ``io`` (atomic writes, checked reads); ``provenance`` (package code as a rule
dependency).
"""
