"""The demand models (log-log, quadratic and cubic in log price, semi-log, GAM, random forest and
gradient boosting) and the naive baseline.

Every model predicts expected weekly enrollments as ``course effect x multiplier(features)``.
The course effect (a per-course level, exp of a fixed effect) absorbs everything fixed about a
course, including the teacher quality and appeal that also set its price; the multiplier is where
price enters. So the effect of price is learned from *within-course* price changes, not from the
fact that better courses charge more. The linear model estimates course effects jointly with its
coefficients (Poisson pseudo-maximum likelihood with course fixed effects, by backfitting); the
others reuse those course effects as a fixed offset and learn their own multiplier.

Elasticity is d ln Q / d ln P of the multiplier (the course effect does not depend on price):
analytic for the polynomial and semi-log families, central finite differences on the curve for the others.
For courses never seen in training (course-grouped cross-validation) the level comes from a
cold-start regression on course facts.

The naive baseline regresses log mean enrollments on log mean price across courses: a pooled
cross-sectional slope that falls for the confounding; it is shown, never selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pygam import PoissonGAM, l, s
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import PoissonRegressor
from threadpoolctl import threadpool_limits

from pricing.ml.glm import (
    cluster_covariance,
    fit_poisson,
    fit_poisson_fixed_effects,
    fit_scaled_poisson_fixed_effects,
)

CONTROLS = ["season_sin", "season_cos", "log_course_age"]
TREE_FEATURES = [
    "log_price",
    "log_rel_course_price",
    "category_code",
    "season_sin",
    "season_cos",
    "log_course_age",
    "log_enrollments_to_date",
    "rating_to_date",
    "has_rating",
    "teacher_quality",
    "difficulty_code",
    "duration_hours",
    "certificate_offered",
]
# Demand levels above this multiple of the average course count as this multiple (see level_z).
LEVEL_CAP = 5.0
COLD_START_FEATURES = ["teacher_quality", "teacher_years", "duration_hours", "certificate_offered"]


def lookup(mapping: dict, keys: pd.Series) -> np.ndarray:
    """Values of ``mapping`` for ``keys`` (NaN where missing), without building a Series per call.

    Pricing calls models on a handful of rows many times; turning a 2,000-key dict into a Series
    on every call cost more than the prediction itself.
    """
    cache = _LOOKUP_CACHE.get(id(mapping))
    if cache is None or cache[0] is not mapping:
        index = pd.Index(list(mapping.keys()))
        values = np.asarray(list(mapping.values()), dtype=float)
        cache = (mapping, index, values)
        _LOOKUP_CACHE[id(mapping)] = cache
    _, index, values = cache
    position = index.get_indexer(keys.to_numpy())
    return np.where(position >= 0, values[np.maximum(position, 0)], np.nan)


_LOOKUP_CACHE: dict[int, tuple] = {}


def single_openmp_thread():
    """Histogram boosting splits tiny nodes with OpenMP; on two busy cores the threads spend far
    more time waiting for each other than working (65 s instead of 0.2 s measured here)."""
    return threadpool_limits(limits=1, user_api="openmp")


def add_model_columns(frame: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    out = frame.copy()
    out["log_course_age"] = np.log1p(np.maximum(out["course_age_weeks"].to_numpy(dtype=float), 0))
    out["category_code"] = pd.Categorical(out["category"], categories=categories).codes.astype(float)
    out["difficulty_code"] = pd.Categorical(
        out["difficulty"], categories=["beginner", "intermediate", "advanced"]
    ).codes.astype(float)
    return out


@dataclass
class CourseEffects:
    """Per-course demand level (weekly enrollments at multiplier 1), and a cold-start fallback."""

    level: dict[int, float]
    categories: list[str]
    cold_start: PoissonRegressor | None = None
    cold_columns: list[str] = field(default_factory=list)
    # Levels the price-by-level interaction was fitted with (fixed once, so z never drifts).
    z_source: dict[int, float] | None = None
    # How much a course's price response grows (or shrinks) per unit of level_z (its level over
    # the average course's, minus one).
    gamma: float = 0.0

    def _cold_design(self, frame: pd.DataFrame) -> pd.DataFrame:
        design = pd.get_dummies(frame[["category", "difficulty"]].astype(str), dtype=float)
        for column in COLD_START_FEATURES:
            design[column] = frame[column].to_numpy(dtype=float)
        return design.reindex(columns=self.cold_columns, fill_value=0.0)

    def fit_cold_start(self, frame: pd.DataFrame) -> None:
        per_course = frame.drop_duplicates("course_id").copy()
        per_course["level"] = per_course["course_id"].map(self.level)
        design = pd.get_dummies(per_course[["category", "difficulty"]].astype(str), dtype=float)
        for column in COLD_START_FEATURES:
            design[column] = per_course[column].to_numpy(dtype=float)
        self.cold_columns = list(design.columns)
        scale = design.std().replace(0, 1)
        self._scale = scale
        model = PoissonRegressor(alpha=1e-4, max_iter=500)
        model.fit(design / scale, per_course["level"].to_numpy())
        self.cold_start = model

    def level_z(self, frame: pd.DataFrame) -> np.ndarray:
        """Each course's demand level relative to the average course, minus one (-1 .. LEVEL_CAP - 1).

        Elasticity differs between courses of one category: a course that sells to a larger share
        of the learners who see it is less price sensitive at the margin. Scaling the price
        response by ``1 + gamma z`` lets the slope vary by course, so category averages are
        averages over courses and not over sales (Poisson weighs courses by their sales).

        Linear in the level, because the purchase chance per look is: the price response of
        courses that hardly sell is that of a zero purchase chance, not an extrapolation (a log
        scale stretched them without bound and over-corrected most where courses are few). Capped,
        because beyond a few times the average level more sales mean more looks, not a higher
        purchase chance.
        """
        source = self.z_source or self.level
        if getattr(self, "_z_mean", None) is None:
            self._z_mean = float(np.mean(list(source.values()))) or 1.0
        known = lookup(source, frame["course_id"])
        missing = np.isnan(known)
        if missing.any():
            known[missing] = self.levels(frame[missing])
        return np.minimum(known / self._z_mean, LEVEL_CAP) - 1.0

    def slope_scale(self, frame: pd.DataFrame) -> np.ndarray:
        """``1 + gamma z``: the factor on every price term (1 where no interaction was fitted)."""
        if not self.gamma:
            return np.ones(len(frame))
        return 1.0 + self.gamma * self.level_z(frame)

    def levels(self, frame: pd.DataFrame) -> np.ndarray:
        known = lookup(self.level, frame["course_id"])
        missing = np.isnan(known)
        if missing.any() and self.cold_start is not None:
            cold = self.cold_start.predict(self._cold_design(frame[missing]) / self._scale)
            known[missing] = cold
        return np.nan_to_num(known, nan=0.0)


class DemandModel:
    name = "base"
    label = "Base"
    finite_difference = 0.05

    def __init__(self, *, random_state: int = 0):
        self.random_state = random_state
        self.effects: CourseEffects | None = None
        self.categories: list[str] = []
        self.center: dict[str, float] = {}
        self.course_center: dict[int, float] = {}

    # -- the contract every model keeps ------------------------------------------------------
    def fit(self, panel: pd.DataFrame, effects: CourseEffects | None = None) -> DemandModel:
        raise NotImplementedError

    def log_multiplier(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, panel: pd.DataFrame) -> pd.DataFrame:
        if not self.categories:
            self.categories = sorted(panel["category"].astype(str).unique())
        frame = add_model_columns(panel, self.categories)
        if not self.center:
            self.center = (
                frame.groupby(frame["category"].astype(str), observed=True)["log_price"].mean().to_dict()
            )
            self.course_center = frame.groupby("course_id")["log_price"].mean().to_dict()
        return frame

    def centered(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        """Log price relative to the course's usual price (its mean log price in training).

        Elasticity is modelled as a function of how far a course is from its own usual price, so
        courses of one category that charge very different prices each get a curve around their
        own level. A course unseen in training is centred on the prices given for it.
        """
        center = lookup(self.course_center, frame["course_id"])
        unseen = np.isnan(center)
        if unseen.any():
            given = pd.Series(frame["log_price"].to_numpy(), index=frame.index)
            own_mean = given.groupby(frame["course_id"].to_numpy()).transform("mean").to_numpy()
            center[unseen] = own_mean[unseen]
        return log_price - center

    # -- what callers use --------------------------------------------------------------------
    def predict(self, panel: pd.DataFrame, price: np.ndarray | float | None = None) -> np.ndarray:
        """Expected enrollments for each row's week (its live days), at ``price`` if given."""
        frame = add_model_columns(panel, self.categories)
        log_price = (
            frame["log_price"].to_numpy() if price is None else np.log(np.broadcast_to(price, len(frame)))
        )
        exposure = frame["exposure_days"].to_numpy(dtype=float) / 7.0 if "exposure_days" in frame else 1.0
        return self.effects.levels(frame) * exposure * np.exp(self.log_multiplier(frame, log_price))

    def predict_weekly(self, panel: pd.DataFrame, price: np.ndarray | float | None = None) -> np.ndarray:
        """Expected enrollments in a full week."""
        frame = panel.drop(columns=["exposure_days"], errors="ignore")
        return self.predict(frame, price)

    def elasticity(self, panel: pd.DataFrame, price: np.ndarray | float | None = None) -> np.ndarray:
        frame = add_model_columns(panel, self.categories)
        log_price = (
            frame["log_price"].to_numpy() if price is None else np.log(np.broadcast_to(price, len(frame)))
        )
        h = self.finite_difference
        up = self.log_multiplier(frame, log_price + h)
        down = self.log_multiplier(frame, log_price - h)
        return (up - down) / (2 * h)

    def feature_importance(self) -> dict[str, float]:
        return {}

    def bootstrap_copy(self, seed: int) -> DemandModel:
        """An unfitted model to refit on a bootstrap sample of courses."""
        return type(self)(random_state=seed)


# ---------------------------------------------------------------------------------------------
class PolynomialLogPrice(DemandModel):
    """Poisson regression: per-category polynomial in log price plus controls.

    With ``level_interaction`` the price terms are scaled by the course effects'
    ``1 + gamma z`` (``CourseEffects.slope_scale``): one shared parameter, estimated jointly with
    the course fixed effects, instead of one interaction per category, which doubled the noise
    of the category elasticities for a correction of a few hundredths.
    """

    degree = 1

    def __init__(self, *, degree: int | None = None, level_interaction: bool = True, **kwargs):
        super().__init__(**kwargs)
        if degree is not None:
            self.degree = degree
        self.level_interaction = level_interaction
        self.coef_: np.ndarray | None = None
        self.cov_: np.ndarray | None = None
        self.columns: list[str] = []

    def price_terms(self, frame: pd.DataFrame, log_price: np.ndarray) -> tuple[np.ndarray, list[str]]:
        x = self.centered(frame, log_price)
        category = frame["category"].astype(str).to_numpy()
        blocks, names = [], []
        for cat in self.categories:
            member = (category == cat).astype(float)
            for power in range(1, self.degree + 1):
                blocks.append(member * x**power)
                names.append(f"{cat}:log_price^{power}")
        return np.column_stack(blocks), names

    def control_terms(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([frame[column].to_numpy(dtype=float) for column in CONTROLS])

    def _scale(self, frame: pd.DataFrame) -> np.ndarray:
        if self.level_interaction and self.effects is not None:
            return self.effects.slope_scale(frame)
        return np.ones(len(frame))

    def design(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        price, names = self.price_terms(frame, log_price)
        self.columns = [*names, *CONTROLS, "intercept"]
        return np.column_stack(
            [price * self._scale(frame)[:, None], self.control_terms(frame), np.ones(len(frame))]
        )

    def fit(self, panel: pd.DataFrame, effects: CourseEffects | None = None) -> PolynomialLogPrice:
        frame = self._prepare(panel)
        y = frame["enrollments"].to_numpy(dtype=float)
        exposure = frame["exposure_days"].to_numpy(dtype=float) / 7.0
        course = frame["course_id"].to_numpy()
        price, _ = self.price_terms(frame, frame["log_price"].to_numpy())
        if effects is None:
            # Course fixed effects concentrated out (FE-PPML); the intercept is absorbed by them.
            controls = self.control_terms(frame)
            slopes, codes, level = fit_poisson_fixed_effects(
                np.column_stack([price, controls]), y, exposure, course
            )
            self.effects = CourseEffects(
                level=dict(zip(codes.tolist(), level.tolist(), strict=True)), categories=self.categories
            )
            if self.level_interaction:
                # The first pass's levels define z once; then the shared gamma is fitted jointly.
                first_pass = self.effects.level
                z = CourseEffects(level=first_pass, categories=self.categories).level_z(frame)
                # z runs from -1 to LEVEL_CAP - 1: keep every course's scale above 0.2, so no
                # course's price response can flip sign.
                beta, delta, gamma, codes, level = fit_scaled_poisson_fixed_effects(
                    price,
                    controls,
                    z,
                    y,
                    exposure,
                    course,
                    start=slopes,
                    gamma_bounds=(-0.8 / (LEVEL_CAP - 1), 0.8),
                )
                slopes = np.concatenate([beta, delta])
                self.effects = CourseEffects(
                    level=dict(zip(codes.tolist(), level.tolist(), strict=True)),
                    categories=self.categories,
                    z_source=first_pass,
                    gamma=gamma,
                )
            beta = np.append(slopes, 0.0)
            self.effects.fit_cold_start(frame)
            X = self.design(frame, frame["log_price"].to_numpy())
        else:
            self.effects = effects
            X = self.design(frame, frame["log_price"].to_numpy())
            offset = np.log(np.maximum(effects.levels(frame) * exposure, 1e-12))
            beta = fit_poisson(X, y, offset)
        self.coef_ = beta
        mu = np.exp(
            np.clip(X @ beta + np.log(np.maximum(self.effects.levels(frame) * exposure, 1e-12)), -30, 30)
        )
        self.cov_ = cluster_covariance(X, y, mu, course)
        self.elasticity_cov_ = self.cov_
        if self._has_gamma():
            # The shared gamma is estimated too: its uncertainty belongs in the elasticity intervals
            # (d log mu / d gamma = z times the unscaled price part).
            z_column = self.effects.level_z(frame) * (price @ beta[: price.shape[1]])
            self.elasticity_cov_ = cluster_covariance(np.column_stack([X, z_column]), y, mu, course)
        return self

    def _has_gamma(self) -> bool:
        return bool(self.level_interaction and self.effects is not None and self.effects.gamma)

    def elasticity_uncertainty(
        self, frame: pd.DataFrame, log_price: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-row gradient of the elasticity with respect to every estimated parameter (gamma
        last, when there is one) and those parameters' covariance: for delta-method intervals."""
        gradient = self.elasticity_gradient(frame, log_price)
        # Artifacts trained before gamma's uncertainty was counted have only ``cov_``.
        covariance = getattr(self, "elasticity_cov_", self.cov_)
        if covariance.shape[0] == gradient.shape[1]:
            return gradient, covariance
        scale = self._scale(frame)
        # elasticity = base * (1 + gamma z), so its derivative in gamma is base * z.
        d_gamma = (gradient @ self.coef_) / scale * self.effects.level_z(frame)
        return np.column_stack([gradient, d_gamma]), covariance

    def log_multiplier(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        return self.design(frame, log_price) @ self.coef_

    def elasticity_gradient(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        """d(elasticity)/d(coef) per row: elasticity is linear in the coefficients."""
        x = self.centered(frame, log_price)
        category = frame["category"].astype(str).to_numpy()
        scale = self._scale(frame)
        gradient = np.zeros((len(frame), len(self.coef_)))
        column = 0
        for cat in self.categories:
            member = (category == cat).astype(float)
            for power in range(1, self.degree + 1):
                gradient[:, column] = member * power * x ** (power - 1) * scale
                column += 1
        return gradient

    def elasticity(self, panel: pd.DataFrame, price=None) -> np.ndarray:
        frame = add_model_columns(panel, self.categories)
        log_price = (
            frame["log_price"].to_numpy() if price is None else np.log(np.broadcast_to(price, len(frame)))
        )
        return self.elasticity_gradient(frame, log_price) @ self.coef_

    def feature_importance(self) -> dict[str, float]:
        se = np.sqrt(np.maximum(np.diag(self.cov_), 1e-30))
        return {
            name: float(abs(c) / s)
            for name, c, s in zip(self.columns, self.coef_, se, strict=True)
            if name != "intercept"
        }


class LinearLogLog(PolynomialLogPrice):
    name = "linear"
    label = "Linear log-log (course effects)"
    degree = 1


class Polynomial2(PolynomialLogPrice):
    name = "poly2"
    label = "Polynomial, degree 2"
    degree = 2


class Polynomial3(PolynomialLogPrice):
    name = "poly3"
    label = "Polynomial, degree 3"
    degree = 3


class SemiLogPrice(PolynomialLogPrice):
    """Log demand linear in price relative to the course's usual price: log Q = level +
    beta_c (p / usual - 1) (1 + gamma z) + controls.

    The form logit choice implies: each learner's utility falls linearly with price, so the
    elasticity beta_c p / usual grows in proportion to the price instead of staying constant
    (log-log) or bending by a noisy square term (the polynomials), with one coefficient per
    category.
    """

    name = "semilog"
    label = "Semi-log (logit-style) in relative price"
    degree = 1

    def price_terms(self, frame: pd.DataFrame, log_price: np.ndarray) -> tuple[np.ndarray, list[str]]:
        relative = np.exp(self.centered(frame, log_price)) - 1.0
        category = frame["category"].astype(str).to_numpy()
        blocks = [(category == cat) * relative for cat in self.categories]
        return np.column_stack(blocks), [f"{cat}:relative_price" for cat in self.categories]

    def elasticity_gradient(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        relative = np.exp(self.centered(frame, log_price))
        category = frame["category"].astype(str).to_numpy()
        scale = self._scale(frame)
        gradient = np.zeros((len(frame), len(self.coef_)))
        for column, cat in enumerate(self.categories):
            gradient[:, column] = (category == cat) * relative * scale
        return gradient


# ---------------------------------------------------------------------------------------------
class GAMDemand(DemandModel):
    """pygam Poisson GAM: a monotone decreasing smooth of log price per category.

    Controls enter through the linear model's coefficients (a fixed offset with the course
    effects); the GAM is fitted on counts aggregated by category and price bin, which is the exact
    Poisson likelihood for a curve that depends on category and price only, and keeps pygam fast.
    """

    name = "gam"
    label = "GAM (monotone in price)"

    def __init__(self, *, n_splines: int = 8, lam: float = 0.05, bins: int = 60, **kwargs):
        super().__init__(**kwargs)
        self.n_splines, self.lam, self.bins = n_splines, lam, bins

    def fit(
        self, panel: pd.DataFrame, effects: CourseEffects | None = None, controls: LinearLogLog | None = None
    ):
        frame = self._prepare(panel)
        if effects is None or controls is None:
            controls = LinearLogLog().fit(panel)
            effects = controls.effects
        self.effects, self.controls = effects, controls
        y = frame["enrollments"].to_numpy(dtype=float)
        exposure = frame["exposure_days"].to_numpy(dtype=float) / 7.0
        base = effects.levels(frame) * exposure * np.exp(self._controls_part(frame))
        x = self.centered(frame, frame["log_price"].to_numpy())
        self.x_range = (float(np.quantile(x, 0.001)), float(np.quantile(x, 0.999)))
        edges = np.linspace(*self.x_range, self.bins + 1)
        bin_index = np.clip(np.digitize(x, edges) - 1, 0, self.bins - 1)
        cat_index = pd.Categorical(frame["category"].astype(str), categories=self.categories).codes
        grouped = (
            pd.DataFrame({"cat": cat_index, "bin": bin_index, "x": x, "y": y, "base": base})
            .groupby(["cat", "bin"], observed=True)
            .agg(x=("x", "mean"), y=("y", "sum"), base=("base", "sum"))
            .reset_index()
        )
        grouped = grouped[grouped["base"] > 0]
        X = self._gam_design(grouped["x"].to_numpy(), grouped["cat"].to_numpy())
        k = len(self.categories)
        terms = s(0, by=1, n_splines=self.n_splines, constraints="monotonic_dec", lam=self.lam)
        for j in range(1, k):
            terms += s(0, by=1 + j, n_splines=self.n_splines, constraints="monotonic_dec", lam=self.lam)
        for j in range(k):
            terms += l(1 + j, lam=0.0)
        self.gam = PoissonGAM(terms, fit_intercept=False, max_iter=200)
        self.gam.fit(X, grouped["y"].to_numpy(), exposure=grouped["base"].to_numpy())
        return self

    def _controls_part(self, frame: pd.DataFrame) -> np.ndarray:
        names = self.controls.columns
        coef = dict(zip(names, self.controls.coef_, strict=True))
        return sum(coef[c] * frame[c].to_numpy(dtype=float) for c in CONTROLS)

    def _gam_design(self, x: np.ndarray, cat_index: np.ndarray) -> np.ndarray:
        indicators = np.eye(len(self.categories))[cat_index]
        return np.column_stack([np.clip(x, *self.x_range), indicators])

    def log_multiplier(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        x = self.centered(frame, log_price)
        cat_index = pd.Categorical(frame["category"].astype(str), categories=self.categories).codes
        inside = np.clip(x, *self.x_range)
        curve = np.log(self.gam.predict(self._gam_design(inside, cat_index)))
        # Outside the prices seen in training, continue the curve at its edge slope (log-linear).
        edge_slope = self._edge_slopes(cat_index, x)
        return curve + edge_slope * (x - inside) + self._controls_part(frame)

    def _edge_slopes(self, cat_index: np.ndarray, x: np.ndarray) -> np.ndarray:
        low, high = self.x_range
        h = 0.02 * (high - low)
        edge = np.where(x > high, high - h, low + h)
        a = np.log(self.gam.predict(self._gam_design(edge - h, cat_index)))
        b = np.log(self.gam.predict(self._gam_design(edge + h, cat_index)))
        return (b - a) / (2 * h)


# ---------------------------------------------------------------------------------------------
class TreeDemand(DemandModel):
    """Tree ensembles fitted to enrollments relative to the course level (Poisson loss)."""

    finite_difference = 0.1

    def make_estimator(self):
        raise NotImplementedError

    def fit(self, panel: pd.DataFrame, effects: CourseEffects | None = None):
        frame = self._prepare(panel)
        if effects is None:
            effects = LinearLogLog().fit(panel).effects
        self.effects = effects
        y = frame["enrollments"].to_numpy(dtype=float)
        base = effects.levels(frame) * frame["exposure_days"].to_numpy(dtype=float) / 7.0
        keep = base > 1e-9
        self.estimator = self.make_estimator()
        X = self.features(frame, frame["log_price"].to_numpy())
        with single_openmp_thread():
            self.estimator.fit(X[keep], y[keep] / base[keep], sample_weight=base[keep])
        return self

    def features(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        X = frame[["log_price", "log_price", *TREE_FEATURES[2:]]].to_numpy(dtype=float)
        X[:, 0] = log_price
        X[:, 1] = self.centered(frame, log_price)
        return X

    def log_multiplier(self, frame: pd.DataFrame, log_price: np.ndarray) -> np.ndarray:
        X = self.features(frame, log_price)
        with single_openmp_thread():
            return np.log(np.maximum(self.estimator.predict(X), 1e-9))

    def feature_importance(self) -> dict[str, float]:
        importances = getattr(self.estimator, "feature_importances_", None)
        if importances is None:
            return {}
        return dict(zip(TREE_FEATURES, map(float, importances), strict=True))


class RandomForestDemand(TreeDemand):
    name = "random_forest"
    label = "Random forest"

    def __init__(self, *, n_estimators: int = 60, min_samples_leaf: int = 80, **kwargs):
        super().__init__(**kwargs)
        self.n_estimators, self.min_samples_leaf = n_estimators, min_samples_leaf

    def make_estimator(self):
        return RandomForestRegressor(
            n_estimators=self.n_estimators,
            criterion="poisson",
            min_samples_leaf=self.min_samples_leaf,
            max_samples=0.5,
            max_features=0.6,
            n_jobs=2,
            random_state=self.random_state,
        )


class GradientBoostingDemand(TreeDemand):
    name = "gradient_boosting"
    label = "Gradient boosting (monotone in price)"

    def __init__(
        self, *, max_iter: int = 300, learning_rate: float = 0.05, early_stopping: bool = True, **kwargs
    ):
        super().__init__(**kwargs)
        self.max_iter, self.learning_rate, self.early_stopping = max_iter, learning_rate, early_stopping

    def make_estimator(self):
        monotonic = [-1, -1] + [0] * (len(TREE_FEATURES) - 2)
        return HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            min_samples_leaf=100,
            monotonic_cst=monotonic,
            categorical_features=[2],
            early_stopping=self.early_stopping,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=self.random_state,
        )

    def bootstrap_copy(self, seed: int) -> GradientBoostingDemand:
        """Refits keep the number of trees early stopping chose: on a bootstrap sample the same
        course lands on both sides of the validation split, so early stopping would never stop
        (300 trees instead of about 80, twice the time, and an overfitted curve)."""
        return GradientBoostingDemand(
            max_iter=int(self.estimator.n_iter_),
            learning_rate=self.learning_rate,
            early_stopping=False,
            random_state=seed,
        )


MODEL_CLASSES: dict[str, type[DemandModel]] = {
    cls.name: cls
    for cls in (
        LinearLogLog,
        SemiLogPrice,
        GAMDemand,
        Polynomial2,
        Polynomial3,
        RandomForestDemand,
        GradientBoostingDemand,
    )
}


# ---------------------------------------------------------------------------------------------
def naive_cross_sectional_elasticities(panel: pd.DataFrame) -> dict[str, float]:
    """The cautionary baseline: log mean enrollments on log mean price across courses, per category."""
    per_course = panel.groupby("course_id", observed=True).agg(
        category=("category", "first"), enrollments=("enrollments", "mean"), price=("price", "mean")
    )
    result = {}
    for category, group in per_course.groupby("category", observed=True):
        y = np.log(group["enrollments"].to_numpy() + 0.05)
        X = np.column_stack([np.log(group["price"].to_numpy()), np.ones(len(group))])
        result[str(category)] = float(np.linalg.lstsq(X, y, rcond=None)[0][0])
    return result
