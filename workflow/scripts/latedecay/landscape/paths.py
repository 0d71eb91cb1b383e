"""How far the trajectories sit from the PCA surface on which Fig. 2 draws the loss.

A snapshot theta is drawn at its PC1/PC2 coordinates (c1, c2), on the surface point
theta_s(c1, c2) = mean + c1 PC1 + c2 PC2 (+ (a c1^2 + b c1 + c) PC3 on the curved surface).
The loss the figure shows there is the loss at theta_s, not at theta: the two agree only
when the snapshot lies on the surface. ``off_surface`` measures the gap in parameter space.
"""

import numpy as np
import torch


@torch.no_grad()
def off_surface(params, mean, components, surface_coefs):
    """(distance, residual, coords) of snapshots ``params`` [N, D], all float64 numpy.

    distance [N]: ||theta_n - theta_s(c1_n, c2_n)||, the surface point given by the rows of
    ``surface_coefs`` [N, m] on the first m ``components`` [k, D] around ``mean`` [D];
    residual [N]: norm of the part of theta_n - mean outside the span of all k components
    (the floor of any distance to a surface inside that span);
    coords [N, k]: (theta_n - mean) @ components^T, to check against the PCA's projection.
    """
    mean, comps = torch.as_tensor(mean).double(), torch.as_tensor(components).double()
    coefs = torch.as_tensor(np.asarray(surface_coefs, np.float64))
    m = coefs.shape[1]
    distance, residual, coords = np.zeros(len(params)), np.zeros(len(params)), np.zeros((len(params), len(comps)))
    for n, row in enumerate(params):
        offset = row.double() - mean
        c = comps @ offset
        coords[n] = c.numpy()
        distance[n] = float((offset - coefs[n] @ comps[:m]).norm())
        residual[n] = float((offset - c @ comps).norm())
    return distance, residual, coords
