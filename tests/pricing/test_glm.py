import numpy as np

from pricing.ml.glm import fit_poisson_fixed_effects, fit_scaled_poisson_fixed_effects


def _panel(gamma: float, seed: int = 3):
    rng = np.random.default_rng(seed)
    units, periods = 400, 30
    group = np.repeat(np.arange(units), periods)
    z = np.repeat(rng.normal(size=units), periods)
    level = np.repeat(np.exp(rng.normal(0.5, 0.7, size=units)), periods)
    x = rng.normal(0, 0.25, size=units * periods)
    season = np.tile(np.sin(np.linspace(0, 3, periods)), units)
    beta, delta = -1.5, 0.4
    mu = level * np.exp((1 + gamma * z) * beta * x + delta * season)
    return x[:, None], season[:, None], z, rng.poisson(mu).astype(float), group


def test_scaled_fixed_effects_recover_the_shared_scale_of_the_price_response():
    P, C, z, y, group = _panel(gamma=-0.2)
    beta, delta, gamma, codes, level = fit_scaled_poisson_fixed_effects(P, C, z, y, np.ones(len(y)), group)
    assert abs(beta[0] + 1.5) < 0.06
    assert abs(delta[0] - 0.4) < 0.06
    assert abs(gamma + 0.2) < 0.05
    assert len(codes) == len(level) == 400


def test_without_a_scale_effect_it_agrees_with_plain_fixed_effects():
    P, C, z, y, group = _panel(gamma=0.0)
    beta, delta, gamma, _, level = fit_scaled_poisson_fixed_effects(P, C, z, y, np.ones(len(y)), group)
    plain, _, plain_level = fit_poisson_fixed_effects(np.column_stack([P, C]), y, np.ones(len(y)), group)
    assert abs(gamma) < 0.05
    assert abs(beta[0] - plain[0]) < 0.03
    assert np.allclose(np.median(level / plain_level), 1.0, atol=0.02)
