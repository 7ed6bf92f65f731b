"""The ``skunsup`` command line (also ``python -m skunsup``)."""

import argparse


def build_parser():
    """The argument parser of the ``skunsup`` command."""
    parser = argparse.ArgumentParser(
        prog="skunsup", description="The classic unsupervised-learning methods, fast."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tour = commands.add_parser(
        "tour", help="run every method of the lecture on image data and write a report"
    )
    tour.add_argument("--data", choices=["auto", "fashion-mnist", "digits"], default="auto",
                      help="data set (auto: Fashion-MNIST when installed, else digits)")
    tour.add_argument("--n-samples", type=int, default=None,
                      help="number of images (default 10000, 2000 with --quick)")
    tour.add_argument("--quick", action="store_true", help="small sizes, a minute or two")
    tour.add_argument("--out", default="skunsup-tour", help="output folder")
    tour.add_argument("--sections", nargs="+", default=None,
                      help="run only these sections (data, kmeans, pca, tsne, autoencoder, vae)")
    tour.add_argument("--random-state", type=int, default=0, help="seed of every random choice")
    commands.add_parser(
        "warmup", help="compile the numba kernels into this machine's cache (once, after "
                       "installing: the first fits are then as fast as later ones)"
    )
    return parser


def main(argv=None):
    """Entry point: parse ``argv`` and run the chosen command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        The process exit status.
    """
    args = build_parser().parse_args(argv)
    if args.command == "warmup":
        from skunsup._warmup import warmup

        warmup()
        return 0
    if args.n_samples is not None and args.n_samples < 10:
        build_parser().error("--n-samples must be at least 10")
    from skunsup._tour import run_tour

    run_tour(data=args.data, n_samples=args.n_samples, quick=args.quick, out=args.out,
             random_state=args.random_state, sections=args.sections)
    return 0
