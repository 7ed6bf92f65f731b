"""The conditional VAE: where the label goes, its bounds, generation by class, labels' API."""

import pickle

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

torch = pytest.importorskip("torch")

import skunsup  # noqa: E402
from skunsup.neural_network import VAE, ConditionalVAE  # noqa: E402
from skunsup.neural_network._gaussian import N_SCORE_DRAWS, row_keyed_normals  # noqa: E402
from tests.reference.neural import (  # noqa: E402
    conditional_vae_elbo,
    conv2d,
    conv_transpose2d,
    mlp_forward,
)

FAST = dict(hidden_layer_sizes=(16,), batch_size=32, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def cvae(digits):
    X, y = digits
    return ConditionalVAE(n_components=4, max_epochs=5, learning_rate=3e-3, **FAST).fit(X, y)


def _fixed_network(n_features, labels, loss, n_components=2, counts=None, **params):
    """A fitted model whose weights are replaced by fixed random values, and its data.

    ``counts`` gives the number of samples of each label (default: 30 samples
    dealt out in turn); ``params`` go to the model.
    """
    rng = np.random.default_rng(0)
    X = rng.random((30, n_features))
    if loss == "mse":
        X = 3.0 * X - 1.0
    if counts is None:
        y = labels[np.arange(30) % len(labels)]
    else:
        y = np.repeat(labels, counts)
    model = ConditionalVAE(n_components, loss=loss, max_epochs=1,
                           **{**FAST, "hidden_layer_sizes": (5,), **params}).fit(X, y)
    with torch.no_grad():
        for parameter in model.module_.parameters():
            parameter.copy_(torch.from_numpy(rng.normal(0.0, 0.6, parameter.shape)))
    return model, X, y


def _layers(sequential):
    return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
            for m in sequential if isinstance(m, torch.nn.Linear)]


@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("labels", [np.array(["cat", "ant", "bee"]), np.array([7])],
                         ids=["3 string labels", "1 class"])
def test_scores_and_codes_match_the_numpy_reference(loss, labels):
    model, X, y = _fixed_network(6, labels, loss)
    encoder, decoder = _layers(model.module_["encoder"]), _layers(model.module_["decoder"])
    assert encoder[0][0].shape[1] == 6 + len(labels)  # [x, onehot(y)]
    assert decoder[0][0].shape[1] == 2 + len(labels)  # [z, onehot(y)]
    classes = np.sort(labels)
    np.testing.assert_array_equal(model.classes_, classes)
    onehot = (y[:, None] == classes[None, :]).astype(float)
    eps = row_keyed_normals(X, model._seed, (N_SCORE_DRAWS, 2))

    expected = conditional_vae_elbo(X, onehot, encoder, decoder, eps, loss)
    np.testing.assert_allclose(model.score_samples(X, y), expected, rtol=1e-10)
    assert model.score(X, y) == pytest.approx(expected.mean(), rel=1e-10)

    # without labels: the label summed out under the training frequencies
    log_prior = np.log(model.class_count_ / model.class_count_.sum())
    joint = np.column_stack([
        log_prior[c] + conditional_vae_elbo(X, np.eye(len(classes))[[c] * len(X)], encoder,
                                            decoder, eps, loss)
        for c in range(len(classes))])
    np.testing.assert_allclose(model.score_samples(X), logsumexp(joint, axis=1), rtol=1e-10)

    # codes: the posterior means under the given labels, or under the most probable ones
    mu = mlp_forward(np.hstack([X, onehot]), encoder)[:, :2]
    np.testing.assert_allclose(model.transform(X, y), mu, rtol=1e-10, atol=1e-12)
    inferred = np.eye(len(classes))[np.argmax(joint, axis=1)]
    mu_inferred = mlp_forward(np.hstack([X, inferred]), encoder)[:, :2]
    np.testing.assert_allclose(model.transform(X), mu_inferred, rtol=1e-10, atol=1e-12)


def _softmax_rows(joint):
    """exp(joint) normalised per row, computed after subtracting each row's maximum."""
    weights = np.exp(joint - np.max(joint, axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("labels", [np.array(["cat", "ant", "bee"]), np.array([7])],
                         ids=["3 string labels", "1 class"])
def test_predict_proba_is_bayes_rule_over_the_class_elbos(loss, labels):
    # unequal classes, so that the prior matters: 18, 9 and 3 samples
    counts = [18, 9, 3] if len(labels) == 3 else [30]
    model, X, _ = _fixed_network(6, labels, loss, counts=counts)
    n_classes = len(model.classes_)
    assert len(np.unique(model.class_count_)) == len(labels)
    log_prior = np.log(model.class_count_ / model.class_count_.sum())
    # the model's own per-class bounds, and the NumPy reference's for the same weights
    own = np.column_stack([model.score_samples(X, np.full(len(X), c)) for c in model.classes_])
    eps = row_keyed_normals(X, model._seed, (N_SCORE_DRAWS, 2))
    encoder, decoder = _layers(model.module_["encoder"]), _layers(model.module_["decoder"])
    reference = np.column_stack([
        conditional_vae_elbo(X, np.eye(n_classes)[[c] * len(X)], encoder, decoder, eps, loss)
        for c in range(n_classes)])
    np.testing.assert_allclose(own, reference, rtol=1e-10)
    expected = _softmax_rows(log_prior + reference)

    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(expected), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[np.argmax(proba, axis=1)])
    # the label transform(X) codes under when given none
    np.testing.assert_array_equal(model.transform(X), model.transform(X, model.predict(X)))


def test_a_class_without_samples_gets_probability_zero(digits):
    X, y = digits[0][:60], digits[1][:60]
    model = ConditionalVAE(2, **FAST).partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    proba = model.predict_proba(X)
    assert proba.shape == (60, 10)
    assert np.all(proba[:, 5:] == 0.0) and np.all(np.isneginf(model.predict_log_proba(X)[:, 5:]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert set(model.predict(X).tolist()) <= {0, 1, 2, 3, 4}


def _two_blobs(n_samples, seed):
    """Two Gaussian blobs in 8-D with string labels, centred at -2 and +2 on every axis."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n_samples) < 0.5, "left", "right")
    return np.where(y == "left", -2.0, 2.0)[:, None] + rng.normal(size=(n_samples, 8)), y


def test_predict_separates_two_blobs():
    """Held-out accuracy of the generative classifier on two well-separated classes.

    Measured for random_state 0-9 (20 epochs, learning_rate 3e-3): 99 % to 100 %
    held-out accuracy. After 5 epochs of the default rate one seed out of six
    scored 4.5 % (the barely trained bounds ranked the labels backwards), hence
    the 20 epochs. Chance is 50 %; the bar is 90 %.
    """
    X, y = _two_blobs(200, 0)
    X_test, y_test = _two_blobs(200, 1)
    model = ConditionalVAE(2, max_epochs=20, learning_rate=3e-3, **FAST).fit(X, y)
    assert model.classes_.tolist() == ["left", "right"]
    predicted = model.predict(X_test)
    assert predicted.dtype == model.classes_.dtype
    assert np.mean(predicted == y_test) >= 0.9
    proba = model.predict_proba(X_test)
    np.testing.assert_array_equal(predicted, model.classes_[np.argmax(proba, axis=1)])
    # the same fitted model gives the same posteriors on every call
    np.testing.assert_array_equal(model.predict_proba(X_test), proba)


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_inverse_transform_matches_the_numpy_reference(loss):
    model, X, y = _fixed_network(5, np.array([0, 1, 2]), loss)
    decoder = _layers(model.module_["decoder"])
    Z = np.random.default_rng(1).normal(size=(7, 2))
    labels = np.array([0, 1, 2, 2, 1, 0, 1])
    output = expit if loss == "bce" else (lambda t: t)
    expected = output(mlp_forward(np.hstack([Z, np.eye(3)[labels]]), decoder))
    np.testing.assert_allclose(model.inverse_transform(Z, labels), expected, rtol=1e-5,
                               atol=1e-6)
    # without labels: E[x | z], the decoded means averaged with the label frequencies
    prior = model.class_count_ / model.class_count_.sum()
    mixture = sum(prior[c] * output(mlp_forward(np.hstack([Z, np.eye(3)[[c] * 7]]), decoder))
                  for c in range(3))
    np.testing.assert_allclose(model.inverse_transform(Z), mixture, rtol=1e-5, atol=1e-6)


def test_the_label_reaches_encoder_and_decoder(cvae, digits):
    X = digits[0][:50]
    codes = [cvae.transform(X, np.full(50, c)) for c in (3, 8)]
    assert np.abs(codes[0] - codes[1]).mean() > 1e-2
    samples = [cvae.sample(50, y=c, random_state=0) for c in (3, 8)]
    assert np.abs(samples[0] - samples[1]).mean() > 1e-2
    # the same label and seed give the same samples; a label array picks per row
    np.testing.assert_array_equal(cvae.sample(50, y=3, random_state=0), samples[0])
    mixed = cvae.sample(50, y=np.where(np.arange(50) < 25, 3, 8), random_state=0)
    np.testing.assert_allclose(mixed[:25], samples[0][:25], rtol=1e-6)
    np.testing.assert_allclose(mixed[25:], samples[1][25:], rtol=1e-6)


def test_samples_have_the_requested_labels(digits):
    """A logistic regression trained on the real digits recognises the requested class.

    The issue's bar is 70 % on Fashion-MNIST; a fit that reaches it there (10,000
    images, 10 epochs: 65 % measured) takes far longer than a unit test may, so
    this test uses scikit-learn's 8x8 digits, where 10 epochs of a small model
    took about 2 s of CPU. Measured: 100 % agreement for seeds 0, 1 and 2 (88 %
    after 5 epochs). The bar is therefore stricter than the issue's: 90 % overall
    and at least half of every class (a decoder that ignored the label would
    agree on about 10 %).
    """
    X, y = digits
    classifier = LogisticRegression(max_iter=1000).fit(X, y)
    model = ConditionalVAE(8, hidden_layer_sizes=(64,), max_epochs=10, learning_rate=3e-3,
                           batch_size=64, random_state=0, device="cpu").fit(X, y)
    requested = np.repeat(model.classes_, 50)
    predicted = classifier.predict(model.sample(len(requested), y=requested, random_state=0))
    assert np.mean(predicted == requested) >= 0.9
    for c in model.classes_:
        assert np.mean(predicted[requested == c] == c) >= 0.5, c


def test_grid_search_scores_with_the_labels(digits):
    X, y = digits[0][:300], digits[1][:300]
    train, test = np.arange(0, 300, 2), np.arange(1, 300, 2)
    estimator = ConditionalVAE(max_epochs=3, **FAST)
    search = GridSearchCV(estimator, {"n_components": [2, 4]}, cv=[(train, test)]).fit(X, y)
    for index, k in enumerate([2, 4]):
        alone = clone(estimator).set_params(n_components=k).fit(X[train], y[train])
        assert search.cv_results_["split0_test_score"][index] == pytest.approx(
            alone.score(X[test], y[test]), rel=1e-9)
    assert search.best_estimator_.classes_.tolist() == list(range(10))


def test_pickle_round_trip_keeps_every_output(cvae, digits):
    X, y = digits[0][:20], digits[1][:20]
    restored = pickle.loads(pickle.dumps(cvae))
    np.testing.assert_array_equal(restored.classes_, cvae.classes_)
    np.testing.assert_array_equal(restored.transform(X, y), cvae.transform(X, y))
    np.testing.assert_array_equal(restored.transform(X), cvae.transform(X))
    np.testing.assert_array_equal(restored.score_samples(X, y), cvae.score_samples(X, y))
    np.testing.assert_array_equal(restored.predict_proba(X), cvae.predict_proba(X))
    np.testing.assert_array_equal(restored.sample(5, y=4, random_state=0),
                                  cvae.sample(5, y=4, random_state=0))


def test_transform_without_labels_uses_the_most_probable_one(cvae, digits):
    X = digits[0][:40]
    log_prior = np.log(cvae.class_count_ / cvae.class_count_.sum())
    joint = np.column_stack([log_prior[c] + cvae.score_samples(X, np.full(40, c))
                             for c in range(10)])
    best = cvae.classes_[np.argmax(joint, axis=1)]
    np.testing.assert_array_equal(cvae.transform(X), cvae.transform(X, best))
    np.testing.assert_allclose(cvae.score_samples(X), logsumexp(joint, axis=1), rtol=1e-12)
    # most digits are coded under their own label after 5 epochs
    assert np.mean(best == digits[1][:40]) > 0.5


def test_fit_transform_is_fit_then_transform_without_labels(digits):
    X, y = digits[0][:200], digits[1][:200]
    model = ConditionalVAE(2, max_epochs=2, **FAST)
    np.testing.assert_array_equal(clone(model).fit_transform(X, y),
                                  clone(model).fit(X, y).transform(X))


def test_labels_are_required_and_must_be_classes(cvae, digits):
    X, y = digits[0][:20], digits[1][:20]
    model = ConditionalVAE(2, max_epochs=1, **FAST)
    with pytest.raises(TypeError, match="'y'"):
        model.fit(X)
    with pytest.raises(ValueError, match="requires y to be passed"):
        model.fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        model.fit(X, np.linspace(0, 1, 20))
    unseen = np.where(np.arange(20) == 3, 10, y)
    for call in (lambda: cvae.transform(X, unseen), lambda: cvae.score(X, unseen),
                 lambda: cvae.inverse_transform(np.zeros((20, 4)), unseen),
                 lambda: cvae.sample(3, y="seven"), lambda: cvae.sample(3, y=[1, 2, 11]),
                 lambda: cvae.interpolate(X[0], X[1], 12)):
        with pytest.raises(ValueError, match=r"not among the classes \[0, 1, 2"):
            call()
    with pytest.raises(ValueError, match="y has 19 labels, but there are 20 samples"):
        cvae.transform(X, y[:19])
    with pytest.raises(ValueError, match="one label or 3 labels"):
        cvae.sample(3, y=[1, 2])
    with pytest.raises(ValueError, match="y must be one label"):
        cvae.interpolate(X[0], X[1], [1, 2])
    with pytest.raises(TypeError, match="'y'"):
        cvae.sample(3)


def test_warm_start_keeps_the_classes(digits):
    X, y = digits[0][:100], digits[1][:100]
    model = ConditionalVAE(2, max_epochs=1, warm_start=True, **FAST).fit(X[y < 5], y[y < 5])
    model.fit(X[y < 3], y[y < 3])  # a subset of the labels continues the model
    assert model.n_iter_ == 2 and model.classes_.tolist() == [0, 1, 2, 3, 4]
    assert model.class_count_[3:].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="not among the classes"):
        model.fit(X, y)


def test_partial_fit_follows_scikit_learns_classes_convention(digits):
    X, y = digits[0][:120], digits[1][:120]
    first, second = y < 5, y >= 5
    model = ConditionalVAE(2, **FAST)
    model.partial_fit(X[first], y[first], classes=np.arange(10))
    model.partial_fit(X[second], y[second])
    assert model.n_iter_ == 2 and model.classes_.tolist() == list(range(10))
    np.testing.assert_array_equal(model.class_count_, np.bincount(y, minlength=10))
    with pytest.raises(ValueError, match="differs from the classes of the first"):
        model.partial_fit(X[first], y[first], classes=[0, 1])
    # without classes, the first call's labels are all there is
    alone = ConditionalVAE(2, **FAST).partial_fit(X[first], y[first])
    assert alone.classes_.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="not among the classes"):
        alone.partial_fit(X[second], y[second])
    with pytest.raises(ValueError, match="not among the classes"):
        ConditionalVAE(2, **FAST).partial_fit(X, y, classes=[0, 1])
    # a class with no sample yet has prior 0: transform never codes under it
    half = ConditionalVAE(2, **FAST).partial_fit(X[first], y[first], classes=np.arange(10))
    X_new = X[second][:10]
    elbo = np.column_stack([half.score_samples(X_new, np.full(10, c)) for c in range(5)])
    seen = np.argmax(np.log(half.class_count_[:5] / half.class_count_.sum()) + elbo, axis=1)
    np.testing.assert_array_equal(half.transform(X_new), half.transform(X_new, seen))


def test_interpolation_stays_in_the_class(cvae, digits):
    X, y = digits
    a, b = X[np.flatnonzero(y == 3)[:2]]
    path = cvae.interpolate(a, b, 3, n_steps=5)
    ends = cvae.inverse_transform(cvae.transform(np.stack([a, b]), [3, 3]), 3)
    np.testing.assert_allclose(path[[0, -1]], ends, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="n_steps"):
        cvae.interpolate(a, b, 3, n_steps=1)


def test_add_attribute_decodes_under_the_labels(cvae, digits):
    X, y = digits[0][:10], digits[1][:10]
    unchanged = cvae.add_attribute(X, np.zeros(4), y=y)
    np.testing.assert_allclose(unchanged, cvae.inverse_transform(cvae.transform(X, y), y),
                               rtol=1e-5, atol=1e-6)
    vector = cvae.attribute_vector(X[y == 1], X[y == 2])
    assert vector.shape == (4,)
    assert cvae.add_attribute(X, vector, scale=0.5).shape == X.shape


def test_early_stopping_and_log_likelihood(digits):
    X, y = digits[0][:200], digits[1][:200]
    model = ConditionalVAE(2, max_epochs=3, early_stopping=True, **FAST).fit(X, y)
    assert all(np.isfinite(entry["valid_loss"]) for entry in model.history_)
    iwae = model.log_likelihood(X[:20], n_importance_samples=16, random_state=0)
    assert iwae.shape == (20,) and np.all(np.isfinite(iwae))


def test_exported_at_the_top_level():
    assert skunsup.ConditionalVAE is ConditionalVAE


def test_user_modules_are_not_parameters():
    """VAE's own-module parameters are not ConditionalVAE's (documented); the others are."""
    params = ConditionalVAE().get_params()
    assert {"encoder", "decoder"}.isdisjoint(params)
    assert set(ConditionalVAE._parameter_constraints) == set(params)
    vae_params = VAE().get_params()
    for name in ("architecture", "image_shape", "channels"):
        assert params[name] == vae_params[name]
        assert ConditionalVAE._parameter_constraints[name] == VAE._parameter_constraints[name]
    with pytest.raises(TypeError, match="encoder"):
        ConditionalVAE(encoder=torch.nn.Identity())


# ------------------------------------------------------------------ 'conv'
CONV = dict(architecture="conv", image_shape=(8, 8), channels=(4, 8), max_epochs=2,
            batch_size=16, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def images():
    """60 random binary 8x8 images, 3 classes dealt out in turn."""
    X = (np.random.default_rng(0).random((60, 64)) > 0.5).astype(float)
    return X, np.arange(60) % 3


def test_mlp_ignores_the_conv_parameters(images):
    X, y = images
    plain = ConditionalVAE(2, max_epochs=1, **FAST).fit(X, y)
    other = ConditionalVAE(2, max_epochs=1, image_shape=(8, 8), channels=(3,), **FAST).fit(X, y)
    assert plain.architecture == "mlp"
    for key, value in plain.module_.state_dict().items():
        assert torch.equal(other.module_.state_dict()[key], value), key


def _conv_reference(model):
    """NumPy encoder and decoder of a fitted 'conv' model, by the documented architecture.

    Encoder: 3x3 convolutions with stride 2 and padding 1 and ReLU over the
    image alone, flattened, joined to the one-hot label, then a Linear.
    Decoder: a Linear from [z, onehot(y)] and ReLU to the last feature maps,
    then 4x4 transposed convolutions with stride 2 (padding 1 towards an even
    side, padding 2 and output padding 1 towards an odd one), ReLU between.
    """
    def params(layer):
        return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()

    features, head = model.module_["encoder"]["features"], model.module_["encoder"]["head"]
    convs = [params(m) for m in features if isinstance(m, torch.nn.Conv2d)]
    decoder = model.module_["decoder"]
    linear = params(decoder[0])
    deconvs = [params(m) for m in decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    shape = (-1, *model.image_shape) if len(model.image_shape) == 3 else (-1, 1,
                                                                           *model.image_shape)
    sides = [shape[2:]]
    for _ in convs:
        sides.append(tuple((side + 1) // 2 for side in sides[-1]))

    def encode(X, Y):
        H = X.reshape(shape)
        for W, b in convs:
            H = np.maximum(conv2d(H, W, b, 2, 1), 0.0)
        return mlp_forward(np.hstack([H.reshape(len(X), -1), Y]), [params(head)])

    def decode(Z, Y):
        H = mlp_forward(np.hstack([Z, Y]), [linear])
        H = np.maximum(H, 0.0).reshape(len(Z), -1, *sides[-1])
        for index, (W, b) in enumerate(deconvs):
            odd = tuple(side % 2 for side in sides[-2 - index])
            H = conv_transpose2d(H, W, b, 2, (1 + odd[0], 1 + odd[1]), odd)
            if index < len(deconvs) - 1:
                H = np.maximum(H, 0.0)
        return H.reshape(len(Z), -1)

    return encode, decode


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_conv_scores_codes_and_posterior_match_the_numpy_reference(loss):
    # two channels of 5x6 images: odd and even sides, C-order rows
    model, X, y = _fixed_network(60, np.array(["cat", "ant", "bee"]), loss, counts=[15, 10, 5],
                                 architecture="conv", image_shape=(2, 5, 6), channels=(3, 4))
    encode, decode = _conv_reference(model)
    eye = np.eye(3)
    onehot = eye[np.searchsorted(model.classes_, y)]
    eps = row_keyed_normals(X, model._seed, (N_SCORE_DRAWS, 2))
    np.testing.assert_allclose(model.score_samples(X, y),
                               conditional_vae_elbo(X, onehot, encode, decode, eps, loss),
                               rtol=1e-10)
    np.testing.assert_allclose(model.transform(X, y), encode(X, onehot)[:, :2], rtol=1e-10,
                               atol=1e-12)
    Z = np.random.default_rng(1).normal(size=(7, 2))
    labels = np.array([0, 1, 2, 2, 1, 0, 1])
    raw = decode(Z, eye[labels])
    np.testing.assert_allclose(model.inverse_transform(Z, model.classes_[labels]),
                               expit(raw) if loss == "bce" else raw, rtol=1e-5, atol=1e-6)

    # Bayes' rule over the per-class bounds: the reference's, and the model's own _elbo
    log_prior = np.log(model.class_count_ / model.class_count_.sum())
    reference = np.column_stack([
        conditional_vae_elbo(X, eye[[c] * len(X)], encode, decode, eps, loss) for c in range(3)])
    own = np.column_stack([model._elbo(X, model._one_hot(np.full(len(X), c)))
                           for c in range(3)])
    np.testing.assert_allclose(own, reference, rtol=1e-10)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, _softmax_rows(log_prior + own), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(model.score_samples(X), logsumexp(log_prior + reference, axis=1),
                               rtol=1e-10)
    np.testing.assert_array_equal(model.predict(X), model.classes_[np.argmax(proba, axis=1)])


def test_conv_fit_on_small_images(images):
    X, y = images
    model = ConditionalVAE(2, **CONV).fit(X, y)
    assert isinstance(model.module_["encoder"]["features"][1], torch.nn.Conv2d)
    assert model.module_["encoder"]["head"].in_features == 8 * 2 * 2 + 3  # [features, onehot]
    assert model.module_["decoder"][0].in_features == 2 + 3  # [z, onehot]
    assert len(model.history_) == 2 and np.isfinite(model.loss_curve_).all()
    for codes in (model.transform(X), model.transform(X, y)):
        assert codes.shape == (60, 2) and np.isfinite(codes).all()
    decoded = [model.inverse_transform(model.transform(X, y), y), model.inverse_transform(
        model.transform(X)), model.sample(6, y=[0, 0, 1, 1, 2, 2], random_state=0)]
    for output, n in zip(decoded, (60, 60, 6)):
        assert output.shape == (n, 64) and np.all((output >= 0) & (output <= 1))
    proba = model.predict_proba(X)
    assert proba.shape == (60, 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.isfinite(model.score_samples(X)).all()
    # the label matters: one z decoded (and one x encoded) under two labels differ
    Z = np.random.default_rng(1).normal(size=(10, 2))
    assert np.abs(model.inverse_transform(Z, 0) - model.inverse_transform(Z, 2)).mean() > 1e-4
    assert np.abs(model.transform(X, np.zeros(60)) - model.transform(X, np.full(60, 2))).mean(
    ) > 1e-4
    # reproducible, and a pickled model gives the same bits
    again = ConditionalVAE(2, **CONV).fit(X, y)
    np.testing.assert_array_equal(again.transform(X, y), model.transform(X, y))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    np.testing.assert_array_equal(restored.sample(3, y=1, random_state=0),
                                  model.sample(3, y=1, random_state=0))


@pytest.mark.parametrize("params, error, match", [
    ({"image_shape": None}, ValueError, "needs image_shape"),
    ({"image_shape": (3, 8, 8)}, ValueError, "holds 192 values per image"),
    ({"channels": (4, 0)}, ValueError, "channels must hold positive"),
    ({"architecture": "rnn"}, ValueError, "architecture"),
])
def test_bad_conv_parameters_are_clear_errors_at_fit(params, error, match, images):
    with pytest.raises(error, match=match):
        ConditionalVAE(2, **{**CONV, **params}).fit(*images)


# image_shape=(1, 1, -1), as for VAE's conv checks (tests/test_architectures.py): every
# row a one-pixel-high image, so that the network takes the checks' data of any width
@parametrize_with_checks([ConditionalVAE(n_components=2, architecture="conv",
                                         image_shape=(1, 1, -1), channels=(4,), max_epochs=5,
                                         batch_size=32, device="cpu")])
def test_sklearn_compatible_conv_ConditionalVAE(estimator, check):
    check(estimator)
