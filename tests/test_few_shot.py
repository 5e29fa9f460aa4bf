"""Few-shot recognition by the nearest class prototype (tutorial_utils.evaluation.few_shot), against
scikit-learn's NearestCentroid, and the spotter's embedding it uses."""

from __future__ import annotations

import torch
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from tutorial_utils.evaluation.few_shot import centre_and_normalise, class_prototypes, nearest_prototype
from tutorial_utils.models import kws_model


def test_nearest_prototype_equals_scikit_learn():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 8, generator=generator) * 2
    labels = torch.tensor([3, 5, 7, 9]).repeat_interleave(5)
    support = centres.repeat_interleave(5, dim=0) + torch.randn(20, 8, generator=generator)
    queries = torch.randn(50, 8, generator=generator) * 2
    classes, prototypes = class_prototypes(support, labels)
    assert classes.tolist() == [3, 5, 7, 9] and prototypes.shape == (4, 8)
    torch.testing.assert_close(prototypes[1], support[5:10].mean(dim=0))
    reference = NearestCentroid().fit(support.numpy(), labels.numpy()).predict(queries.numpy())
    assert nearest_prototype(queries, classes, prototypes).tolist() == reference.tolist()


def test_one_example_per_class_is_its_own_prototype():
    support, labels = torch.eye(3), torch.tensor([0, 1, 2])
    classes, prototypes = class_prototypes(support, labels)
    assert nearest_prototype(support, classes, prototypes).tolist() == [0, 1, 2]


def test_the_spotters_embedding_is_what_its_classifier_sees():
    model = kws_model("res8-narrow", 10).eval()
    x = torch.randn(3, 40, 101)
    embedding = model.embed(x)
    assert embedding.shape == (3, model.output.in_features)
    torch.testing.assert_close(model.output(embedding), model(x))


def test_centre_and_normalise_equals_scikit_learn():
    generator = torch.Generator().manual_seed(1)
    support, queries = torch.rand(30, 6, generator=generator) + 2, torch.rand(10, 6, generator=generator)
    centre = support.mean(dim=0)
    reference = make_pipeline(StandardScaler(with_std=False), Normalizer()).fit(support.numpy())
    ours = centre_and_normalise(queries, centre)
    torch.testing.assert_close(ours, torch.from_numpy(reference.transform(queries.numpy())).float())
    torch.testing.assert_close(ours.norm(dim=1), torch.ones(10))


def test_centring_lets_the_direction_decide_not_the_length():
    # Class 0's prototype lies near the common centre, class 1's far from it: a clip in class 1's
    # direction but near the centre is nearer to class 0, until lengths no longer count.
    centre = torch.tensor([1.0, 1.0])
    support = torch.tensor([[2.0, 1.0], [1.0, 5.0]])  # one clip of class 0, one of class 1
    classes, prototypes = class_prototypes(support, torch.tensor([0, 1]))
    quiet = torch.tensor([[1.2, 1.8]])  # mostly class 1's direction from the centre, but close to it
    assert nearest_prototype(quiet, classes, prototypes).item() == 0
    normalised = centre_and_normalise(prototypes, centre)
    assert nearest_prototype(centre_and_normalise(quiet, centre), classes, normalised).item() == 1
