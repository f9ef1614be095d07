"""``fill``: fill the masked pixels of one image, or of every image in a folder."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from core.base.device import DEVICE_CHOICES
from core.base.errors import InpaintError

# The engine is imported inside the functions: start-up cost, see core/commands/__init__.py.


HELP = "fill the holes of an image (or a folder of images) given a mask"
DESCRIPTION = (
    "Fill the pixels marked in MASK (any non-zero pixel is a hole). INPUT and "
    "MASK may be folders: masks are then matched to images by file stem, and OUTPUT is a "
    "folder. Input files are never written over."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="INPUT", help="image file or folder")
    parser.add_argument("--mask", "-m", type=Path, help="mask image file or folder")
    parser.add_argument(
        "--auto-mask",
        action="store_true",
        help="detect scratches, cracks and dust (as `detect` does) instead of reading --mask",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="with --auto-mask: the detector's probability threshold (default: its calibrated "
        "one; lower finds more)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="output file or folder")
    parser.add_argument("--method", help="fill method (see `info`; default: the best available)")
    parser.add_argument("--seed", type=int, help="sample a variant of the fill deterministically")
    parser.add_argument(
        "--variants",
        type=int,
        default=0,
        metavar="K",
        help="write K sampled variants <stem>_v1<ext> ... <stem>_vK<ext> beside OUTPUT",
    )
    parser.add_argument(
        "--refine", type=int, default=0, metavar="STEPS", help="latent refinement steps"
    )
    parser.add_argument(
        "--direction",
        action="append",
        default=[],
        metavar="I=VALUE",
        help="move along latent direction I (1 = strongest) by VALUE prior standard deviations, "
        "as the editor's slider I does (manifold method; repeatable)",
    )
    parser.add_argument(
        "--grain",
        action="store_true",
        help="add the surrounding film grain to the filled pixels, so fills on a grainy scan "
        "do not show as smooth bands (any method)",
    )
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing output files (never inputs)"
    )
    parser.add_argument(
        "--max-pixels",
        type=float,
        default=None,
        metavar="MP",
        help="refuse images larger than this many megapixels (default 200; 0 = no limit)",
    )


@dataclasses.dataclass(frozen=True)
class Job:
    image: Path
    mask: Path | None  # None: detect the damage (--auto-mask)
    output: Path


def plan_jobs(source: Path, mask: Path | None, output: Path, auto: bool = False) -> list[Job]:
    from core.base.imageio import list_images

    if auto and mask is not None:
        raise InpaintError("pass either --mask or --auto-mask, not both")
    if mask is None and not auto:
        raise InpaintError("a mask is needed: pass --mask MASK (or --auto-mask)")
    if not source.exists():
        raise InpaintError(f"{source} does not exist")
    if mask is None:
        if source.is_file():
            return [Job(source, None, output / source.name if output.is_dir() else output)]
        if output.exists() and not output.is_dir():
            raise InpaintError(f"INPUT is a folder, so OUTPUT must be a folder; {output} is a file")
        found = list_images(source)
        if not found:
            raise InpaintError(f"no images found in {source}")
        return [Job(path, None, output / path.name) for path in found]
    if not mask.exists():
        raise InpaintError(f"mask {mask} does not exist")
    if source.is_file():
        if mask.is_dir():
            mask = _match_mask(source, mask)
        if output.is_dir():
            output = output / source.name
        return [Job(source, mask, output)]
    if not mask.is_dir():
        raise InpaintError("INPUT is a folder, so --mask must be a folder of masks too")
    if output.exists() and not output.is_dir():
        raise InpaintError(f"INPUT is a folder, so OUTPUT must be a folder; {output} is a file")
    images = list_images(source)
    if not images:
        raise InpaintError(f"no images found in {source}")
    return [Job(path, _match_mask(path, mask), output / path.name) for path in images]


def _match_mask(image: Path, folder: Path) -> Path:
    from core.base.imageio import is_image_file

    for stem in (image.stem, f"{image.stem}_mask", f"{image.stem}.mask"):
        for candidate in sorted(folder.glob(f"{stem}.*")):
            if is_image_file(candidate):
                return candidate
    raise InpaintError(f"no mask for {image.name} in {folder} (expected {image.stem}.png)")


def variant_path(output: Path, number: int) -> Path:
    return output.with_name(f"{output.stem}_v{number}{output.suffix}")


def _outputs(job: Job, variants: int) -> Iterator[tuple[Path, int | None]]:
    """(path, variant number or None) for every file this job writes."""
    if variants <= 0:
        yield job.output, None
    else:
        for number in range(1, variants + 1):
            yield variant_path(job.output, number), number


def check_outputs(jobs: list[Job], variants: int, overwrite: bool) -> None:
    """Refuse before any work starts: outputs that are inputs, or exist without --overwrite."""
    inputs = {p.resolve() for job in jobs for p in (job.image, job.mask) if p is not None}
    for job in jobs:
        for path, _ in _outputs(job, variants):
            if path.resolve() in inputs:
                raise InpaintError(f"refusing to write over the input file {path}")
            if path.exists() and not overwrite:
                raise InpaintError(f"{path} exists; pass --overwrite to replace it")


def build_options(args: argparse.Namespace, method: str, device: str) -> object | None:
    """The typed options of ``--refine`` and ``--direction`` (manifold method only)."""
    directions = getattr(args, "direction", [])
    if not (args.refine or directions):
        return None
    if method != "manifold":
        raise InpaintError(f"--refine and --direction need the manifold method, not {method!r}")
    from core.manifold.directions import directions_for
    from core.manifold.options import ManifoldOptions, parse_directions
    from core.pipeline.registry import get_method

    sliders: tuple[float, ...] = ()
    if directions:
        count = len(directions_for(get_method(method, device)))  # type: ignore[arg-type]
        sliders = parse_directions(directions, count)
    return ManifoldOptions(refine_steps=args.refine, sliders=sliders)


def _auto_mask(pixels, args: argparse.Namespace) -> tuple[object, str]:
    """(the mask to fill, what detection found) for ``--auto-mask``."""
    from core.detect import detect, fill_mask

    started = time.perf_counter()
    result = detect(pixels, threshold=getattr(args, "threshold", None))
    seconds = time.perf_counter() - started
    found = (
        f"the detector ({result.method}, threshold {result.threshold:.3f}) looked for "
        f"scratches, cracks and dust and flagged {result.mask.mean():.2%} of the photo in "
        f"{seconds:.1f} s"
    )
    return fill_mask(result), found


def _describe_fill(how: str, share: float, seconds: float) -> str:
    return f"filled {share:.2%} of the photo in {how} in {seconds:.1f} s"


def run_job(job: Job, args: argparse.Namespace, method: str, device: str) -> str | None:
    """Fill one image and write its output(s); returns what was done, or None when there
    was nothing to fill (no file is written then: an unchanged copy would look like a
    restoration). Variants share one plan and one encoding: each costs a render (a decoder
    pass per region)."""
    from core.base.imageio import read_image, write_image
    from core.base.masks import load_mask
    from core.pipeline.session import FillRequest, FillSession

    image = read_image(job.image, max_pixels=_max_pixels(args.max_pixels))
    found = ""
    if job.mask is None:
        mask, found = _auto_mask(image.pixels, args)
    else:
        mask = load_mask(job.mask, image.pixels.shape[:2])
    if not mask.any():
        what = found if job.mask is None else f"the mask {job.mask} is empty"
        print(f"nothing to fill in {job.image.name}: {what}; no output written", file=sys.stderr)
        return None
    options = build_options(args, method, device)
    outputs = list(_outputs(job, args.variants))
    started = time.perf_counter()
    request = FillRequest(image.pixels, mask, method, args.seed, device, options, args.grain)
    session = FillSession(request, keep=len(outputs) > 1)
    job.output.parent.mkdir(parents=True, exist_ok=True)
    for path, number in outputs:
        seed = args.seed if number is None else (args.seed or 0) + number - 1
        result = session.render(seed)
        write_image(dataclasses.replace(image, pixels=result.image), path, overwrite=args.overwrite)
    seconds = time.perf_counter() - started
    done = _describe_fill(result.describe(), float(mask.mean()), seconds)
    return f"{found}; {done}" if found else done


def _max_pixels(megapixels: float | None) -> int | None:
    from core.base.imageio import DEFAULT_MAX_PIXELS

    if megapixels is None:
        return DEFAULT_MAX_PIXELS
    return None if megapixels <= 0 else int(megapixels * 1_000_000)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.base.device import resolve_device
    from core.pipeline.registry import default_method_name, require_available

    if args.variants < 0:
        raise InpaintError("--variants must be 0 or more")
    if args.threshold is not None and not (args.auto_mask and 0.0 <= args.threshold <= 1.0):
        raise InpaintError("--threshold goes with --auto-mask and must be between 0 and 1")
    jobs = plan_jobs(args.input, args.mask, args.output, getattr(args, "auto_mask", False))
    check_outputs(jobs, args.variants, args.overwrite)
    method = args.method or default_method_name()
    require_available(method)  # unknown names and damaged weights fail before any work
    device = resolve_device(args.device)
    if len(jobs) == 1:
        report = run_job(jobs[0], args, method, device)
        if report is not None:
            print(f"wrote {', '.join(str(p) for p, _ in _outputs(jobs[0], args.variants))}")
            print(f"{method}: {report}")
        return 0
    failures = skipped = 0
    with tqdm(jobs, unit="image", desc=f"fill ({method})", file=sys.stderr) as bar:
        for job in bar:
            try:
                report = run_job(job, args, method, device)
            except InpaintError as error:
                failures += 1
                tqdm.write(f"error: {job.image.name}: {error}", file=sys.stderr)
                continue
            skipped += report is None
            if report is not None:
                tqdm.write(f"{job.image.name}: {report}")
    done = len(jobs) - failures - skipped
    note = f" ({skipped} had nothing to fill)" if skipped else ""
    print(f"filled {done} of {len(jobs)} images into {args.output}{note}")
    return 1 if failures else 0
