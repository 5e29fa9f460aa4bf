"""Few-shot recognition by the nearest class prototype (tutorial_utils.evaluation.few_shot), against
scikit-learn's NearestCentroid, and the spotter's embedding it uses."""

from __future__ import annotations

import torch
from sklearn.neighbors import NearestCentroid

from tutorial_utils.evaluation.few_shot import class_prototypes, nearest_prototype
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
