"""The documented training schedule (Models 1-4 and the fine-tuned Model 4) as data.

Both the training code and the docs read this table; change a run here and
`gesture-train` and the summary report follow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

# A classifier top is a sequence of layer specs: ("flatten",), ("dense", units),
# ("dropout", rate), ("global_average_pooling",). The final softmax layer is always
# added by `build_model`.
TopSpec = tuple[tuple, ...]

TOP_128x3_DROPOUT: TopSpec = (("flatten",), ("dense", 128), ("dense", 128), ("dense", 128), ("dropout", 0.5))
TOP_256_DROPOUT: TopSpec = (("flatten",), ("dense", 256), ("dropout", 0.5))
TOP_256: TopSpec = (("flatten",), ("dense", 256))
# For backbones trained from scratch: average the feature map instead of flattening it,
# which keeps the top small and the model indifferent to where the hand sits.
TOP_GAP_DROPOUT: TopSpec = (("global_average_pooling",), ("dropout", 0.3))

# The robustness augmentation the compact run adds on top of the documented set
# (names are defined in training/augment.py EXTRA_AUGMENTATIONS).
ROBUST_AUGMENTATION = ("light", "colour", "scale")
# The landmark run's augmentation of the 21 points (training/landmark_run.py LANDMARK_AUGMENTATIONS):
# another camera angle and distance, a localiser's error, another person's finger proportions.
LANDMARK_AUGMENTATION = ("rotation", "tilt", "scale", "aspect", "jitter", "finger_length")
# The landmark head's top (chosen in benchmarks/landmark_study.py; models/default/README.md).
TOP_LANDMARKS: TopSpec = (("dense", 32), ("dropout", 0.2))


@dataclass(frozen=True)
class Reported:
    """What the seed document reports for a run (its own dataset, 50 test images per class)."""

    val_accuracy: float
    macro_f1: float
    confusion_matrix: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class RunSpec:
    name: str
    title: str
    top: TopSpec
    learning_rate: float
    epochs: int
    steps_per_epoch: int
    batch_size: int
    validation_steps: int | None  # None: the whole validation set
    backbone: str = "vgg16"
    input_size: int = 224
    # Fine-tuning: start from this run's trained weights and unfreeze the base
    # from this layer on (Keras's transfer-learning recipe, which the seed follows).
    init_from: str | None = None
    unfreeze_from: str | None = None
    reported: Reported | None = field(default=None, compare=False)
    # Part of the seed's documented schedule (what `gesture-train` runs by default);
    # extra runs such as compact backbones are trained only when named with --runs.
    documented: bool = True
    # Augmentation beyond the documented transforms, by name (training/augment.py);
    # the documented runs add none.
    extra_augmentation: tuple[str, ...] = ()
    # "constant" (the seed's Adam) or "cosine": decay to zero over the run, which
    # settles a from-scratch network in fewer epochs.
    lr_schedule: str = "constant"
    # Landmark runs (backbone "landmarks"): the feature set of models/landmark_features.py the
    # head reads; they use no image input, so input_size means nothing to them.
    features: str | None = None

    def with_overrides(self, **overrides) -> "RunSpec":
        """A copy with the given fields replaced; `None` values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)


SCHEDULE: dict[str, RunSpec] = {
    spec.name: spec
    for spec in (
        RunSpec(
            "model1", "Model 1", TOP_128x3_DROPOUT, 1e-3, 50, 100, 15, 50,
            reported=Reported(0.90, 0.8864, ((26, 0, 4, 3, 17), (0, 48, 0, 2, 0), (0, 0, 50, 0, 0), (0, 0, 0, 50, 0), (0, 0, 0, 0, 50))),
        ),
        RunSpec(
            "model2", "Model 2", TOP_128x3_DROPOUT, 2e-5, 100, 120, 32, None,
            reported=Reported(0.93, 0.9207, ((35, 0, 4, 4, 7), (0, 48, 0, 2, 0), (0, 0, 50, 0, 0), (0, 0, 0, 50, 0), (0, 0, 0, 2, 48))),
        ),
        RunSpec(
            "model3", "Model 3", TOP_256_DROPOUT, 1e-4, 200, 120, 32, None,
            reported=Reported(0.95, 0.9429, ((40, 0, 3, 2, 5), (0, 49, 0, 1, 0), (0, 0, 50, 0, 0), (0, 0, 0, 50, 0), (0, 0, 0, 3, 47))),
        ),
        RunSpec(
            "model4", "Model 4", TOP_256, 1e-4, 200, 120, 32, None,
            reported=Reported(0.968, 0.9344, ((38, 0, 2, 4, 6), (0, 47, 0, 3, 0), (0, 0, 50, 0, 0), (0, 0, 0, 50, 0), (0, 0, 0, 1, 49))),
        ),
        RunSpec(
            "model4_ft", "Model 4 fine-tuned", TOP_256, 1e-4, 100, 120, 32, None,
            init_from="model4", unfreeze_from="block5_conv1",
            reported=Reported(0.9808, 0.9959, ((50, 0, 0, 0, 0), (0, 50, 0, 0, 0), (0, 0, 50, 0, 0), (0, 1, 0, 49, 0), (0, 0, 0, 0, 50))),
        ),
        # Not in the seed: a small batch-normalised CNN trained from scratch, for CPU-only
        # machines and for the bundled default model (models/default/train.toml).
        RunSpec(
            "compact", "Compact CNN", TOP_GAP_DROPOUT, 3e-3, 60, 43, 64, None,
            backbone="compact", input_size=64, documented=False,
            extra_augmentation=ROBUST_AUGMENTATION, lr_schedule="cosine",
        ),
        # Not in the seed: a small MLP on the hand's 21 landmarks (models/hands), beside a CNN in
        # one bundle (fused by models/fusion.py) or alone for a new gesture set in seconds.
        # An epoch is 43 batches of freshly augmented landmarks, whatever the dataset's size.
        RunSpec(
            "landmarks", "Landmark MLP", TOP_LANDMARKS, 3e-3, 40, 43, 64, None,
            backbone="landmarks", input_size=0, documented=False,
            extra_augmentation=LANDMARK_AUGMENTATION, lr_schedule="cosine", features="angles3d",
        ),
    )
}


def resolve_runs(names: str | list[str] | None) -> list[RunSpec]:
    """Turn 'model1,model4_ft' (or None: the documented schedule) into run specs, in schedule order."""
    if names is None:
        return [spec for spec in SCHEDULE.values() if spec.documented]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCHEDULE]
    if unknown:
        raise ValueError(
            f"Unknown run(s) {', '.join(repr(n) for n in unknown)}; valid runs are {', '.join(SCHEDULE)}."
        )
    return [spec for name, spec in SCHEDULE.items() if name in names]
