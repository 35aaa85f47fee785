"""``vpsbench convert`` and ``vpsbench export``: official releases <-> unified files."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.common import add_command

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
  scores. OUT must be new or empty.

example:
  vpsbench export cityscapes_vps cityscapes_vps_val.h5 out/
  vpsbench export cityscapes_vps pred.h5 submit/ --gt cityscapes_vps_val.h5 --zip
  vpsbench export vipseg pred.h5 submit/ --gt vipseg_val.h5
  vpsbench export kitti_step pred.h5 pred_png/ --gt kitti_step_val.h5
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the convert and export subcommands."""
    p = add_command(
        subparsers, "convert", "convert a dataset release to a unified file", CONVERT_HELP
    )
    datasets = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)

    city = datasets.add_parser(
        "cityscapes_vps", aliases=["cityscapes-vps"], help="Cityscapes-VPS root -> unified file"
    )
    add_common(city)
    city.add_argument(
        "--labels",
        choices=("auto", "prepared", "raw"),
        default="auto",
        help="which label state to read (default: prepared when present, else raw)",
    )
    city.set_defaults(run=run_convert_cityscapes)

    viper = datasets.add_parser("viper", help="raw VIPER root -> unified file")
    add_common(viper)
    viper.add_argument("--sequences", nargs="+", metavar="SSS", help="sequence ids to convert")
    viper.add_argument("--sequence-list", type=Path, help="text file with one sequence id a line")
    viper.add_argument(
        "--frames-per-video",
        type=int,
        metavar="N",
        help="cut sequences into videos of N labelled frames each (with the image-only frames "
        "before them); N counts frames in an image-only split",
    )
    viper.add_argument(
        "--stride",
        type=int,
        default=1,
        metavar="S",
        help="keep every S-th labelled frame (S > 1 drops the image-only frames; the public "
        "labels are 10 source frames apart, so kept ones are 10*S apart)",
    )
    viper.set_defaults(run=run_convert_viper)

    vip = datasets.add_parser("vipseg", aliases=["VIPSeg"], help="VIPSeg root -> unified file")
    add_common(vip)
    add_vipseg_options(vip)
    vip.set_defaults(run=run_convert_vipseg)

    for name in STEP_DATASETS:
        step = datasets.add_parser(
            name, aliases=[name.replace("_", "-")], help=f"{STEP_TITLES[name]} root -> unified file"
        )
        add_common(step)
        step.set_defaults(run=run_convert_step)

    sub = datasets.add_parser(
        "submission",
        help="official submission -> unified prediction",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Writes an official Cityscapes-VPS submission as a unified prediction file\n"
        "that scores exactly as the submission: each thing colour id becomes one instance id\n"
        'of its video (tube_identity "instance"), whatever category a frame gives it.\n\n'
        "example:\n"
        "  vpsbench convert submission submission.zip --gt cityscapes_vps_val.h5 -o pred.h5",
    )
    sub.add_argument("submission", type=Path, help="pred.json + pan_pred/ folder, or its zip")
    sub.add_argument("--gt", required=True, type=Path, help="the GT file it predicts")
    sub.add_argument("-o", "--out", required=True, type=Path, help="output .h5 file")
    sub.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    sub.set_defaults(run=run_convert_submission)

    p = add_command(subparsers, "export", "write a unified file in an official layout", EXPORT_HELP)
    formats = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    city = formats.add_parser(
        "cityscapes_vps", aliases=["cityscapes-vps"], help="unified file -> Cityscapes-VPS layout"
    )
    city.add_argument("file", type=Path, help="unified GT or prediction file")
    city.add_argument("out", type=Path, help="output directory")
    city.add_argument("--gt", type=Path, help="GT file whose frame order a prediction follows")
    city.add_argument("--zip", action="store_true", help="prediction: also pack submission.zip")
    city.set_defaults(run=run_export_cityscapes)
    vip = formats.add_parser("vipseg", aliases=["VIPSeg"], help="unified file -> VIPSeg layout")
    vip.add_argument("file", type=Path, help="unified GT or prediction file")
    vip.add_argument("out", type=Path, help="output directory")
    vip.add_argument("--gt", type=Path, help="GT file whose videos and frames a prediction follows")
    vip.add_argument("--zip", action="store_true", help="prediction: also pack submission.zip")
    vip.set_defaults(run=run_export_vipseg)
    for name in STEP_DATASETS:
        step = formats.add_parser(
            name,
            aliases=[name.replace("_", "-")],
            help=f"unified file -> {STEP_TITLES[name]} layout or prediction PNG directory",
        )
        step.add_argument("file", type=Path, help="unified GT or prediction file")
        step.add_argument("out", type=Path, help="output directory (new or empty)")
        step.add_argument("--gt", type=Path, help="prediction: write the GT's annotated frames")
        step.set_defaults(run=run_export_step)


STEP_DATASETS = ("kitti_step", "motchallenge_step")
STEP_TITLES = {"kitti_step": "KITTI-STEP", "motchallenge_step": "MOTChallenge-STEP"}


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="dataset root")
    parser.add_argument("--split", required=True, help="split to convert (train, val, test)")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output .h5 file")
    parser.add_argument("--workers", type=int, default=1, help="decode processes (default: 1)")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")


def add_vipseg_options(parser: argparse.ArgumentParser) -> None:
    from vpsbench_converters.vipseg import LAYOUTS, VALUE_200
    from vpsbench_converters.vipseg_720p import NEAREST_LEGACY, NEAREST_RULES

    parser.add_argument(
        "--layout", choices=LAYOUTS, default="auto", help="which layout ROOT holds (default: auto)"
    )
    parser.add_argument(
        "--resize",
        type=int,
        metavar="H",
        help="raw release: resize to height H as change2_720p.py does (H = 720 is official)",
    )
    parser.add_argument(
        "--mask-nearest",
        choices=NEAREST_RULES,
        default=NEAREST_LEGACY,
        help="with --resize: nearest-neighbour rounding of Pillow < 10.3 (default; the "
        "circulating VIPSeg_720P copies) or of Pillow >= 10.3",
    )
    parser.add_argument(
        "--value-200",
        choices=VALUE_200,
        default="ceiling",
        help="raw release: read mask value 200 as ceiling, as the official preparation does "
        "(default), or as void, as the maintainers say it should be",
    )


def run_convert_cityscapes(args: argparse.Namespace) -> int:
    from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps

    out = convert_cityscapes_vps(
        args.root, args.split, args.out, args.labels, args.workers, args.progress, args.force
    )
    print(f"wrote {out}")
    return 0


def run_convert_viper(args: argparse.Namespace) -> int:
    from vpsbench_converters.viper import convert_viper

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

    out = import_submission(args.submission, args.gt, args.out, args.progress, args.force)
    print(f"wrote {out}")
    return 0


def run_export_cityscapes(args: argparse.Namespace) -> int:
    from vpsbench_converters.cityscapes_vps_export import export_cityscapes_vps

    out = export_cityscapes_vps(args.file, args.out, gt=args.gt, zip_it=args.zip)
    print(f"wrote {out}")
    return 0


def run_export_vipseg(args: argparse.Namespace) -> int:
    from vpsbench_converters.vipseg_export import export_vipseg

    out = export_vipseg(args.file, args.out, gt=args.gt, zip_it=args.zip)
    print(f"wrote {out}")
    return 0


def step_dataset(args: argparse.Namespace) -> str:
    """The canonical STEP dataset name of a subcommand spelling (kitti-step -> kitti_step)."""
    return args.dataset.replace("-", "_")


def run_convert_step(args: argparse.Namespace) -> int:
    from vpsbench_converters.step import convert_step

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

    out = export_step(step_dataset(args), args.file, args.out, gt=args.gt)
    print(f"wrote {out}")
    return 0
