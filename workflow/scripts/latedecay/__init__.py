"""latedecay: reproduce Ren, Ma & Ying (AISTATS 2024), "Understanding the
Generalization Benefits of Late Learning Rate Decay".

Subpackages: ``toy`` (toy-model theory), ``nn`` (CIFAR-10 training), ``landscape``
(PCA loss landscapes), ``plots`` (figures, and the Fig. 1 statistics beside Fig. 1).
Modules: ``names`` (run labels, metric names), ``stats`` (intervals, exact tests,
trends), ``io`` (atomic writes, checked reads), ``config_checks`` / ``config_schema`` /
``config_files`` (the config's validation), ``provenance`` (package code as a rule
dependency).
"""
