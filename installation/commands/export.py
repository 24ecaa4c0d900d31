"""`art2mus export`: a checkpoint folder (or the tiny test model) -> a model bundle, with parity."""

from __future__ import annotations

from pathlib import Path

from engines.errors import Art2MusError
from installation.config import Config

HELP = "checkpoint folder (or the tiny test model) -> model bundle"


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="folder with audioldm2/, imagebind_huge.pth or clip/, the aligner .pt")
    src.add_argument("--tiny", action="store_true", help="export a tiny random-weight checkpoint (tests, demo)")
    src.add_argument("--make-tiny-checkpoint", metavar="DIR", help="only write the tiny checkpoint to DIR")
    p.add_argument("--out", help="bundle folder to write: a new or empty folder, or a bundle (replaced whole)")
    p.add_argument("--encoder", choices=("auto", "imagebind", "clip"), default="auto")
    p.add_argument("--seed", type=int, default=0, help="seed of the tiny checkpoint")
    p.add_argument("--no-int8", action="store_true",
                   help="skip the int8 UNet and vocoder variants (the fast ones for CPU kiosks)")
    p.add_argument("--fp16", action="store_true",
                   help="add mixed-precision fp16 variants for GPUs (TensorRT builds them as strongly typed networks), "
                        "each checked against PyTorch fp32 on the CPU; one out of tolerance stays fp32")


def run(cfg: Config, args) -> int:
    try:
        from export.checkpoint import locate
        from export.exporter import check_out, export_bundle, export_tiny_bundle, format_fp16_table
        from export.parity import format_table
        from export.tiny import make_tiny_checkpoint
    except ImportError as exc:
        raise Art2MusError(f"export needs the export extra ({exc.name} is missing): pip install '.[export]' torch==2.13.0") from None
    if args.make_tiny_checkpoint:
        print(make_tiny_checkpoint(Path(args.make_tiny_checkpoint), args.seed))
        return 0
    if not args.out:
        raise Art2MusError("export needs --out BUNDLE, the folder to write the model bundle to")
    out = Path(args.out)
    check_out(out)  # before the checkpoint is even read: a folder that is not a bundle is never touched
    int8 = not args.no_int8
    if args.fp16:
        try:
            import onnxconverter_common  # noqa: F401
        except ImportError:
            raise Art2MusError("export --fp16 needs onnxconverter-common (in the export extra): "
                               "pip install '.[export]' torch==2.13.0") from None
    rows = (export_tiny_bundle(out, args.seed, int8, fp16=args.fp16) if args.tiny
            else export_bundle(locate(Path(args.checkpoint), args.encoder), out, int8=int8, fp16=args.fp16))
    print("parity, ONNX Runtime vs PyTorch:")
    print(format_table(rows))
    if args.fp16:
        from engines.bundle import load_bundle

        print("fp16 variants, ONNX Runtime CPU vs PyTorch fp32 (relative to the fp32 reference):")
        print(format_fp16_table(load_bundle(out, verify=False).manifest["fp16"]["stages"]))
    print(f"bundle written to {out}")
    return 0
