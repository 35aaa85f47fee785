"""``vpsbench convert`` and ``vpsbench export``: official releases <-> unified files."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.common import add_command, add_workers_option, refuse_existing_output

CONVERT_HELP = """
Converts a dataset release, as it lies on disk, into one unified HDF5 file per split.

cityscapes_vps ROOT (also spelled cityscapes-vps): the Cityscapes-VPS root
  (panoptic_gt_<split>_city_vps.json and <split>/panoptic_video/ after the official preparation
  scripts, or the raw <split>/cls/ + <split>/inst/ labels; images from <split>/img/ and, if
  present, <split>/img_all/). The test split (images only) becomes a file without labels, for
  inference.
viper ROOT: the raw VIPER release (<split>/img|cls|inst/SSS/SSS_FFFFF.*), mapped to the 23
  VPS classes.
vipseg ROOT (also spelled VIPSeg): the prepared VIPSeg_720P/ folder (panomasksRGB/ +
  panoptic_gt_VIPSeg_<split>.json, what the official numbers are computed on) or the raw VIPSeg/
  release (imgs/, 16-bit panomasks/, <split>.txt); --resize 720 prepares the raw one exactly as
  the official change2_720p.py does.
kitti_step ROOT, motchallenge_step ROOT (also spelled kitti-step, motchallenge-step): a STEP
  root as deeplab2's setup guides lay it out (images/<split>/SSSS/FFFFFF.png|jpg +
  panoptic_maps/<split>/SSSS/FFFFFF.png, R = class, 256 G + B = track id); one video per
  sequence. MOTChallenge-STEP's val split is sequence 0002, read from train/ when there is no
  val/. The test split (images only) becomes a file without labels.
submission SUB --gt GT: an official Cityscapes-VPS submission (pred.json + pan_pred/, or its
  zip) for the GT file, as a unified prediction file that keeps the submission's tubes (one
  colour id = one tube, tube_identity "instance"); it scores as the submission does.

The output is written atomically; --workers decodes frames in parallel processes.

example:
  vpsbench convert cityscapes_vps data/cityscapes_vps --split val -o cityscapes_vps_val.h5
  vpsbench convert viper data/viper --split val -o viper_val.h5 --sequence-list day.txt \\
      --frames-per-video 60 --workers 2
  vpsbench convert vipseg data/VIPSeg_720P --split val -o vipseg_val.h5
  vpsbench convert vipseg data/VIPSeg --split val --resize 720 -o vipseg_val.h5
  vpsbench convert kitti_step data/kitti-step --split val -o kitti_step_val.h5 --workers 2
  vpsbench convert submission submission.zip --gt cityscapes_vps_val.h5 -o pred.h5
"""

EXPORT_HELP = """
Writes a unified file back in an official layout.

cityscapes_vps: a ground-truth file becomes panoptic_gt_<split>_city_vps.json +
  <split>/panoptic_video/*.png (+ img/, img_all/ images); a prediction file becomes an official
  submission, pred.json + pan_pred/*.png, in the order the official scorer expects (--zip:
  submission.zip).
vipseg: a ground-truth file becomes the prepared VIPSeg_720P/ layout (panomasksRGB/<video>/,
  panoptic_gt_VIPSeg_<split>.json, <split>.txt, images/); a prediction file becomes pred.json +
  pan_pred/<video>/<frame>.png, what VIPSeg's eval_vpq_vspw.py reads (--zip: submission.zip).
kitti_step, motchallenge_step: a ground-truth file becomes the release layout under OUT
  (images/<split>/SSSS/ + panoptic_maps/<split>/SSSS/); a prediction file becomes
  OUT/SSSS/FFFFFF.png (R = class, 256 G + B = instance), which 'vpsbench eval --pred OUT'
  scores.
OUT must be new or empty (--force replaces it whole); it is written completely or not at all.

example:
  vpsbench export cityscapes_vps cityscapes_vps_val.h5 out/
  vpsbench export cityscapes_vps pred.h5 submit/ --gt cityscapes_vps_val.h5 --zip
  vpsbench export vipseg pred.h5 submit/ --gt vipseg_val.h5
  vpsbench export kitti_step pred.h5 pred_png/ --gt kitti_step_val.h5
"""


CONVERT_DETAILS = {
    "cityscapes_vps": """
Reads ROOT/panoptic_gt_<split>_city_vps.json + <split>/panoptic_video/ (the official
preparation), or the raw <split>/cls/ + <split>/inst/ labels, with the images of <split>/img/
and, if present, <split>/img_all/. The test split (images only) becomes a file without labels.

example:
  vpsbench convert cityscapes_vps data/cityscapes_vps --split val -o cityscapes_vps_val.h5
  vpsbench convert cityscapes-vps data/cityscapes_vps --split train -o train.h5 --labels raw
""",
    "viper": """
Reads the raw release ROOT/<split>/img|cls|inst/SSS/SSS_FFFFF.* and maps it to the 23 VPS
classes; one video per sequence unless --frames-per-video cuts them.

example:
  vpsbench convert viper data/viper --split val -o viper_val.h5
  vpsbench convert viper data/viper --split val -o viper_val.h5 --sequence-list day.txt \\
      --frames-per-video 60
""",
    "vipseg": """
Reads the prepared VIPSeg_720P/ folder (panomasksRGB/ + panoptic_gt_VIPSeg_<split>.json, what
the official numbers are computed on) or the raw VIPSeg/ release (imgs/, 16-bit panomasks/,
<split>.txt); --resize 720 prepares the raw one exactly as the official change2_720p.py does.

example:
  vpsbench convert vipseg data/VIPSeg_720P --split val -o vipseg_val.h5
  vpsbench convert vipseg data/VIPSeg --split val --resize 720 -o vipseg_val.h5
""",
    "kitti_step": """
Reads a KITTI-STEP root as deeplab2's setup guide lays it out (images/<split>/SSSS/FFFFFF.png +
panoptic_maps/<split>/SSSS/FFFFFF.png, R = class, 256 G + B = track id), one video per
sequence. The test split (images only) becomes a file without labels.

example:
  vpsbench convert kitti_step data/kitti-step --split val -o kitti_step_val.h5
""",
    "motchallenge_step": """
Reads a MOTChallenge-STEP root laid out as KITTI-STEP's (JPEG frames), one video per sequence.
Its val split is sequence 0002, read from train/ when there is no val/.

example:
  vpsbench convert motchallenge_step data/motchallenge-step --split val -o mots_val.h5
""",
}

EXPORT_DETAILS = {
    "cityscapes_vps": """
A ground-truth file becomes panoptic_gt_<split>_city_vps.json + <split>/panoptic_video/*.png
(+ img/, img_all/ images); a prediction file becomes an official submission, pred.json +
pan_pred/*.png, in the order the official scorer expects (--zip: also submission.zip). OUT
must be new or empty (--force replaces it whole); it is written completely or not at all.

example:
  vpsbench export cityscapes_vps cityscapes_vps_val.h5 out/
  vpsbench export cityscapes-vps pred.h5 submit/ --gt cityscapes_vps_val.h5 --zip
""",
    "vipseg": """
A ground-truth file becomes the prepared VIPSeg_720P/ layout (panomasksRGB/<video>/,
panoptic_gt_VIPSeg_<split>.json, <split>.txt, images/); a prediction file becomes pred.json +
pan_pred/<video>/<frame>.png, what VIPSeg's eval_vpq_vspw.py reads (--zip: submission.zip).
OUT must be new or empty (--force replaces it whole); it is written completely or not at all.

example:
  vpsbench export vipseg vipseg_val.h5 out/
  vpsbench export vipseg pred.h5 submit/ --gt vipseg_val.h5 --zip
""",
    "kitti_step": """
A ground-truth file becomes the release layout under OUT (images/<split>/SSSS/ +
panoptic_maps/<split>/SSSS/); a prediction file becomes OUT/SSSS/FFFFFF.png (R = class,
256 G + B = instance), which 'vpsbench eval --pred OUT' scores. OUT must be new or empty
(--force replaces it whole).

example:
  vpsbench export kitti_step kitti_step_val.h5 out/
  vpsbench export kitti_step pred.h5 pred_png/ --gt kitti_step_val.h5
""",
    "motchallenge_step": """
A ground-truth file becomes the release layout under OUT (images/<split>/SSSS/ +
panoptic_maps/<split>/SSSS/); a prediction file becomes OUT/SSSS/FFFFFF.png (R = class,
256 G + B = instance), which 'vpsbench eval --pred OUT' scores. OUT must be new or empty
(--force replaces it whole).

example:
  vpsbench export motchallenge_step pred.h5 pred_png/ --gt mots_val.h5
""",
}

SUBMISSION_DETAILS = """
Writes an official Cityscapes-VPS submission as a unified prediction file that scores exactly
as the submission: each thing colour id becomes one instance id of its video (tube_identity
"instance"), whatever category a frame gives it.

example:
  vpsbench convert submission submission.zip --gt cityscapes_vps_val.h5 -o pred.h5
"""

# Spellings accepted besides the canonical names.
ALIASES = {
    "cityscapes_vps": ["cityscapes-vps"],
    "vipseg": ["VIPSeg"],
    "kitti_step": ["kitti-step"],
    "motchallenge_step": ["motchallenge-step"],
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the convert and export subcommands, and the conversion options of ``eval``."""
    p = add_command(
        subparsers, "convert", "convert a dataset release to a unified file", CONVERT_HELP
    )
    datasets = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)

    def convert_command(name: str, title: str) -> argparse.ArgumentParser:
        parser = add_command(
            datasets, name, f"{title} root -> unified file", CONVERT_DETAILS[name],
            ALIASES.get(name, ()),
        )  # fmt: skip
        add_common(parser)
        return parser

    city = convert_command("cityscapes_vps", "Cityscapes-VPS")
    add_cityscapes_options(city)
    city.set_defaults(run=run_convert_cityscapes)
    viper = convert_command("viper", "raw VIPER")
    add_viper_options(viper)
    viper.set_defaults(run=run_convert_viper)
    vip = convert_command("vipseg", "VIPSeg")
    add_vipseg_options(vip)
    vip.set_defaults(run=run_convert_vipseg)
    for name in STEP_DATASETS:
        convert_command(name, STEP_TITLES[name]).set_defaults(run=run_convert_step)

    sub = add_command(
        datasets, "submission", "official submission -> unified prediction", SUBMISSION_DETAILS
    )
    sub.add_argument("submission", type=Path, help="pred.json + pan_pred/ folder, or its zip")
    sub.add_argument("--gt", required=True, type=Path, help="the GT file it predicts")
    sub.add_argument("-o", "--out", required=True, type=Path, help="output .h5 file")
    sub.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    sub.set_defaults(run=run_convert_submission)

    p = add_command(subparsers, "export", "write a unified file in an official layout", EXPORT_HELP)
    formats = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)

    def export_command(name: str, layout: str) -> argparse.ArgumentParser:
        parser = add_command(
            formats, name, f"unified file -> {layout}", EXPORT_DETAILS[name],
            ALIASES.get(name, ()),
        )  # fmt: skip
        parser.add_argument("file", type=Path, help="unified GT or prediction file")
        parser.add_argument(
            "-f", "--force", action="store_true",
            help="replace an existing, non-empty output directory whole (default: refuse it)",
        )  # fmt: skip
        return parser

    city = export_command("cityscapes_vps", "Cityscapes-VPS layout")
    city.add_argument("out", type=Path, help="output directory (new or empty)")
    city.add_argument("--gt", type=Path, help="GT file whose frame order a prediction follows")
    city.add_argument("--zip", action="store_true", help="prediction: also pack submission.zip")
    city.set_defaults(run=run_export_cityscapes)
    vip = export_command("vipseg", "VIPSeg layout")
    vip.add_argument("out", type=Path, help="output directory (new or empty)")
    vip.add_argument("--gt", type=Path, help="GT file whose videos and frames a prediction follows")
    vip.add_argument("--zip", action="store_true", help="prediction: also pack submission.zip")
    vip.set_defaults(run=run_export_vipseg)
    for name in STEP_DATASETS:
        step = export_command(name, f"{STEP_TITLES[name]} layout or prediction PNG directory")
        step.add_argument("out", type=Path, help="output directory (new or empty)")
        step.add_argument("--gt", type=Path, help="prediction: write the GT's annotated frames")
        step.set_defaults(run=run_export_step)

    if "eval" in subparsers.choices:
        add_eval_conversion_options(subparsers.choices["eval"])


STEP_DATASETS = ("kitti_step", "motchallenge_step")
STEP_TITLES = {"kitti_step": "KITTI-STEP", "motchallenge_step": "MOTChallenge-STEP"}


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="dataset root")
    parser.add_argument("--split", required=True, help="split to convert (train, val, test)")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output .h5 file")
    add_workers_option(parser, "decode processes")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")


def add_eval_conversion_options(eval_parser: argparse.ArgumentParser) -> None:
    """The options of the converters that change the labels, for ``eval --gt ROOT --split S``
    (a root converted on the fly then matches a file converted by hand with them). Left out,
    they take the converter's default; ``converter_options`` names them for the core."""
    group = eval_parser.add_argument_group(
        "conversion of a dataset root (--gt ROOT --split S), as 'vpsbench convert DATASET'"
    )
    dests = add_cityscapes_options(group, "Cityscapes-VPS: ")
    dests += add_viper_options(group, "VIPER: ")
    dests += add_vipseg_options(group, "VIPSeg: ")
    eval_parser.set_defaults(converter_options=tuple(dests))


def add_cityscapes_options(parser, prefix: str | None = None) -> list[str]:
    """Cityscapes-VPS's label option; with a ``prefix`` (for eval) its default is None, the
    converter's. Returns the dests."""
    parser.add_argument(
        "--labels",
        choices=("auto", "prepared", "raw"),
        default=None if prefix else "auto",
        help=f"{prefix or ''}which label state to read (default: auto, the prepared labels "
        "when present, else raw)",
    )
    return ["labels"]


def add_viper_options(parser, prefix: str | None = None) -> list[str]:
    """VIPER's sequence and frame options (see ``add_cityscapes_options``)."""
    prefix_text = prefix or ""
    parser.add_argument(
        "--sequences", nargs="+", metavar="SSS",
        help=f"{prefix_text}sequence ids to convert (default: every sequence)",
    )  # fmt: skip
    parser.add_argument(
        "--sequence-list", type=Path, metavar="FILE",
        help=f"{prefix_text}text file with one sequence id a line (default: every sequence)",
    )  # fmt: skip
    parser.add_argument(
        "--frames-per-video",
        type=int,
        metavar="N",
        help=f"{prefix_text}cut sequences into videos of N labelled frames each (with the "
        "image-only frames before them); N counts frames in an image-only split (default: one "
        "video per sequence)",
    )
    parser.add_argument(
        "--stride",
        type=int,
        default=None if prefix else 1,
        metavar="S",
        help=f"{prefix_text}keep every S-th labelled frame (S > 1 drops the image-only frames; "
        "the public labels are 10 source frames apart, so kept ones are 10*S apart) "
        "(default: 1)",
    )
    return ["sequences", "sequence_list", "frames_per_video", "stride"]


def add_vipseg_options(parser, prefix: str | None = None) -> list[str]:
    """VIPSeg's layout and preparation options (see ``add_cityscapes_options``)."""
    from vpsbench_converters.vipseg import LAYOUTS, VALUE_200
    from vpsbench_converters.vipseg_720p import NEAREST_LEGACY, NEAREST_RULES

    prefix_text = prefix or ""
    parser.add_argument(
        "--layout", choices=LAYOUTS, default=None if prefix else "auto",
        help=f"{prefix_text}which layout ROOT holds (default: auto)",
    )  # fmt: skip
    parser.add_argument(
        "--resize",
        type=int,
        metavar="H",
        help=f"{prefix_text}raw release: resize to height H as change2_720p.py does (H = 720 "
        "is official; default: no resize)",
    )
    parser.add_argument(
        "--mask-nearest",
        choices=NEAREST_RULES,
        default=None if prefix else NEAREST_LEGACY,
        help=f"{prefix_text}with --resize: nearest-neighbour rounding of Pillow < 10.3 "
        f"(default: {NEAREST_LEGACY}; the circulating VIPSeg_720P copies) or of Pillow >= 10.3",
    )
    parser.add_argument(
        "--value-200",
        choices=VALUE_200,
        default=None if prefix else "ceiling",
        help=f"{prefix_text}raw release: read mask value 200 as ceiling, as the official "
        "preparation does (default: ceiling), or as void, as the maintainers say it should be",
    )
    return ["layout", "resize", "mask_nearest", "value_200"]


def run_convert_cityscapes(args: argparse.Namespace) -> int:
    from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps

    refuse_existing_output(args.out, args.force)

    out = convert_cityscapes_vps(
        args.root, args.split, args.out, args.labels, args.workers, args.progress, args.force
    )
    print(f"wrote {out}")
    return 0


def run_convert_viper(args: argparse.Namespace) -> int:
    from vpsbench_converters.viper import convert_viper

    refuse_existing_output(args.out, args.force)

    out = convert_viper(
        args.root,
        args.split,
        args.out,
        sequences=args.sequences,
        list_file=args.sequence_list,
        frames_per_video=args.frames_per_video,
        stride=args.stride,
        workers=args.workers,
        progress=args.progress,
        overwrite=args.force,
    )
    print(f"wrote {out}")
    return 0


def run_convert_vipseg(args: argparse.Namespace) -> int:
    from vpsbench_converters.vipseg import convert_vipseg

    refuse_existing_output(args.out, args.force)

    out = convert_vipseg(
        args.root,
        args.split,
        args.out,
        layout=args.layout,
        resize=args.resize,
        mask_nearest=args.mask_nearest,
        value_200=args.value_200,
        workers=args.workers,
        progress=args.progress,
        overwrite=args.force,
    )
    print(f"wrote {out}")
    return 0


def run_convert_submission(args: argparse.Namespace) -> int:
    from vpsbench_converters.submission import import_submission

    refuse_existing_output(args.out, args.force)

    out = import_submission(args.submission, args.gt, args.out, args.progress, args.force)
    print(f"wrote {out}")
    return 0


def run_export_cityscapes(args: argparse.Namespace) -> int:
    from vpsbench_converters.cityscapes_vps_export import export_cityscapes_vps

    out = export_cityscapes_vps(
        args.file, args.out, gt=args.gt, zip_it=args.zip, overwrite=args.force
    )
    print(f"wrote {out}")
    return 0


def run_export_vipseg(args: argparse.Namespace) -> int:
    from vpsbench_converters.vipseg_export import export_vipseg

    out = export_vipseg(args.file, args.out, gt=args.gt, zip_it=args.zip, overwrite=args.force)
    print(f"wrote {out}")
    return 0


def step_dataset(args: argparse.Namespace) -> str:
    """The canonical STEP dataset name of a subcommand spelling (kitti-step -> kitti_step)."""
    return args.dataset.replace("-", "_")


def run_convert_step(args: argparse.Namespace) -> int:
    from vpsbench_converters.step import convert_step

    refuse_existing_output(args.out, args.force)

    out = convert_step(
        step_dataset(args),
        args.root,
        args.split,
        args.out,
        workers=args.workers,
        progress=args.progress,
        overwrite=args.force,
    )
    print(f"wrote {out}")
    return 0


def run_export_step(args: argparse.Namespace) -> int:
    from vpsbench_converters.step_export import export_step

    out = export_step(step_dataset(args), args.file, args.out, gt=args.gt, overwrite=args.force)
    print(f"wrote {out}")
    return 0
