"""latedecay: reproduce Ren, Ma & Ying (AISTATS 2024), "Understanding the
Generalization Benefits of Late Learning Rate Decay".

Subpackages: ``toy`` (toy-model theory), ``nn`` (CIFAR-10 training),
``landscape`` (PCA loss landscapes), ``plots`` (figures).
"""
